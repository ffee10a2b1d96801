package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

func newStatusCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "status",
		synopsis: "Print seal and HA status",
		outputs:  withFormat,
		usage: `
Usage: tresor status [options]

  Prints whether the server is initialized and sealed, its unseal progress
  and whether it runs in HA mode. It works whether or not the server is
  sealed.

  The exit code tells the seal status:

      - 0 - unsealed
      - 1 - error
      - 2 - sealed
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			status, err := client.Sys().SealStatusWithContext(c.s.ctx)
			if err != nil {
				// vault documents 1, not 2, here: 2 already means "sealed".
				if code := c.apiFailed(err, "Error checking seal status"); code != exitRemote {
					return code
				}
				return exitLocal
			}
			if code := c.printSealStatus(client, status); code != exitOK {
				return code
			}
			if status.Sealed {
				return exitRemote
			}
			return exitOK
		},
	}
}

// sealStatus is what status prints: the seal status plus the leader
// (HA) status, with the JSON field names vault uses.
type sealStatus struct {
	api.SealStatusResponse
	HAEnabled                bool      `json:"ha_enabled"`
	IsSelf                   bool      `json:"is_self,omitempty"`
	ActiveTime               time.Time `json:"active_time,omitempty"`
	LeaderAddress            string    `json:"leader_address,omitempty"`
	LeaderClusterAddress     string    `json:"leader_cluster_address,omitempty"`
	PerfStandby              bool      `json:"performance_standby,omitempty"`
	PerfStandbyLastRemoteWAL uint64    `json:"performance_standby_last_remote_wal,omitempty"`
	LastWAL                  uint64    `json:"last_wal,omitempty"`
	RaftCommittedIndex       uint64    `json:"raft_committed_index,omitempty"`
	RaftAppliedIndex         uint64    `json:"raft_applied_index,omitempty"`
}

// printSealStatus completes a seal status with sys/leader and prints it.
// Shared by status and operator unseal.
func (c *command) printSealStatus(client *api.Client, st *api.SealStatusResponse) int {
	out := sealStatus{SealStatusResponse: *st}
	leader, err := client.Sys().LeaderWithContext(c.s.ctx)
	var rerr *api.ResponseError
	switch {
	case err == nil:
		out.HAEnabled = leader.HAEnabled
		out.IsSelf = leader.IsSelf
		out.ActiveTime = leader.ActiveTime
		out.LeaderAddress = leader.LeaderAddress
		out.LeaderClusterAddress = leader.LeaderClusterAddress
		out.PerfStandby = leader.PerfStandby
		out.PerfStandbyLastRemoteWAL = leader.PerfStandbyLastRemoteWAL
		out.LastWAL = leader.LastWAL
		out.RaftCommittedIndex = leader.RaftCommittedIndex
		out.RaftAppliedIndex = leader.RaftAppliedIndex
	case errors.As(err, &rerr) && rerr.StatusCode == http.StatusServiceUnavailable &&
		strings.Contains(err.Error(), "sealed"):
		// A sealed vault refuses sys/leader and vault's CLI then reports HA
		// as enabled; keep its output.
		out.HAEnabled = true
	case errors.As(err, &rerr) && rerr.StatusCode == http.StatusNotFound:
		// A server without sys/leader has no HA.
	default:
		return c.apiFailed(err, "Error checking leader status")
	}

	p := c.printer()
	if p.format != "table" {
		return p.encode(out)
	}
	p.keyValues(sealStatusRows(out))
	return exitOK
}

// sealStatusRows are the status table rows, in vault's order.
func sealStatusRows(st sealStatus) [][]string {
	var rows [][]string
	add := func(k string, format string, args ...any) {
		rows = append(rows, []string{k, fmt.Sprintf(format, args...)})
	}
	prefix := ""
	add("Seal Type", "%s", st.Type)
	if st.RecoverySeal {
		prefix = "Recovery "
		add("Recovery Seal Type", "%s", st.RecoverySealType)
	}
	add("Initialized", "%t", st.Initialized)
	add("Sealed", "%t", st.Sealed)
	add("Total "+prefix+"Shares", "%d", st.N)
	add("Threshold", "%d", st.T)
	if st.Sealed {
		add("Unseal Progress", "%d/%d", st.Progress, st.T)
		add("Unseal Nonce", "%s", st.Nonce)
	}
	if st.Migration {
		add("Seal Migration in Progress", "%t", st.Migration)
	}
	add("Version", "%s", st.Version)
	add("Build Date", "%s", st.BuildDate)
	add("Storage Type", "%s", st.StorageType)
	if st.ClusterName != "" && st.ClusterID != "" {
		add("Cluster Name", "%s", st.ClusterName)
		add("Cluster ID", "%s", st.ClusterID)
	}
	if st.RemovedFromCluster != nil {
		add("Removed From Cluster", "%t", *st.RemovedFromCluster)
	}
	add("HA Enabled", "%t", st.HAEnabled)
	if st.HAEnabled && !st.Sealed {
		add("HA Cluster", "%s", st.LeaderClusterAddress)
		if st.IsSelf {
			add("HA Mode", "active")
			if !st.ActiveTime.IsZero() {
				add("Active Since", "%s", st.ActiveTime.Format(time.RFC3339Nano))
			}
		} else {
			add("HA Mode", "standby")
			leader := st.LeaderAddress
			if leader == "" {
				leader = "<none>"
			}
			add("Active Node Address", "%s", leader)
		}
		if st.PerfStandby {
			add("Performance Standby Node", "%t", st.PerfStandby)
			add("Performance Standby Last Remote WAL", "%d", st.PerfStandbyLastRemoteWAL)
		}
	}
	if st.RaftCommittedIndex > 0 {
		add("Raft Committed Index", "%d", st.RaftCommittedIndex)
	}
	if st.RaftAppliedIndex > 0 {
		add("Raft Applied Index", "%d", st.RaftAppliedIndex)
	}
	if st.LastWAL != 0 {
		add("Last WAL", "%d", st.LastWAL)
	}
	if len(st.Warnings) > 0 {
		add("Warnings", "%v", st.Warnings)
	}
	return rows
}
