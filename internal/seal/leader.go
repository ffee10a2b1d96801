package seal

import "time"

// LeaderStatus is sys/leader's answer.
type LeaderStatus struct {
	HAEnabled            bool
	IsSelf               bool
	ActiveTime           time.Time
	LeaderAddress        string
	LeaderClusterAddress string
	RaftCommittedIndex   uint64
	RaftAppliedIndex     uint64
}
