package raft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/tresorhq/tresor/internal/parse"
)

// AutopilotConfig is Vault's autopilot configuration. Tresor acts on
// CleanupDeadServers, DeadServerLastContactThreshold and MinQuorum (a
// voter the leader has not heard from for longer than the threshold is
// removed, as long as at least MinQuorum voters remain), and reports
// health against LastContactThreshold. The others are kept for the API.
type AutopilotConfig struct {
	CleanupDeadServers             bool          `json:"cleanup_dead_servers"`
	LastContactThreshold           time.Duration `json:"last_contact_threshold"`
	DeadServerLastContactThreshold time.Duration `json:"dead_server_last_contact_threshold"`
	MaxTrailingLogs                uint64        `json:"max_trailing_logs"`
	MinQuorum                      uint64        `json:"min_quorum"`
	ServerStabilizationTime        time.Duration `json:"server_stabilization_time"`
	DisableUpgradeMigration        bool          `json:"disable_upgrade_migration"`
}

var autopilotKey = []byte("autopilot")

// DefaultAutopilot is Vault's default configuration.
var DefaultAutopilot = AutopilotConfig{
	LastContactThreshold:           10 * time.Second,
	DeadServerLastContactThreshold: 24 * time.Hour,
	MaxTrailingLogs:                1000,
	MinQuorum:                      3,
	ServerStabilizationTime:        10 * time.Second,
}

// Map is the configuration as the API shows it (durations as strings).
func (c AutopilotConfig) Map() map[string]any {
	return map[string]any{
		"cleanup_dead_servers":               c.CleanupDeadServers,
		"last_contact_threshold":             c.LastContactThreshold.String(),
		"dead_server_last_contact_threshold": c.DeadServerLastContactThreshold.String(),
		"max_trailing_logs":                  c.MaxTrailingLogs,
		"min_quorum":                         c.MinQuorum,
		"server_stabilization_time":          c.ServerStabilizationTime.String(),
		"disable_upgrade_migration":          c.DisableUpgradeMigration,
	}
}

// Merge returns c with the fields present in data changed.
func (c AutopilotConfig) Merge(data map[string]any) (AutopilotConfig, error) {
	for k, v := range data {
		var err error
		switch k {
		case "cleanup_dead_servers":
			c.CleanupDeadServers, err = parse.Bool(v)
		case "disable_upgrade_migration":
			c.DisableUpgradeMigration, err = parse.Bool(v)
		case "last_contact_threshold":
			c.LastContactThreshold, err = parse.NonNegativeDuration(v)
		case "dead_server_last_contact_threshold":
			c.DeadServerLastContactThreshold, err = parse.NonNegativeDuration(v)
		case "server_stabilization_time":
			c.ServerStabilizationTime, err = parse.NonNegativeDuration(v)
		case "max_trailing_logs":
			c.MaxTrailingLogs, err = asUint(v)
		case "min_quorum":
			c.MinQuorum, err = asUint(v)
		default:
			continue
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", k, err)
		}
	}
	if c.CleanupDeadServers && c.MinQuorum < 3 {
		return c, errors.New("min_quorum must be at least 3 when cleanup_dead_servers is set")
	}
	if c.DeadServerLastContactThreshold < time.Minute && c.CleanupDeadServers {
		return c, errors.New("dead_server_last_contact_threshold must be at least 1m")
	}
	return c, nil
}

func asUint(v any) (uint64, error) {
	switch x := v.(type) {
	case float64:
		if x < 0 || x != float64(uint64(x)) {
			return 0, errors.New("want a non-negative integer")
		}
		return uint64(x), nil
	case json.Number:
		return strconv.ParseUint(x.String(), 10, 64)
	case string:
		return strconv.ParseUint(x, 10, 64)
	}
	return 0, errors.New("want a non-negative integer")
}

// Autopilot returns the replicated autopilot configuration.
func (s *Store) Autopilot() AutopilotConfig {
	cfg := DefaultAutopilot
	_ = s.fsm.read(func(st *state) error {
		if raw := st.getMeta(autopilotKey); raw != nil {
			_ = json.Unmarshal(raw, &cfg)
		}
		return nil
	})
	return cfg
}

// SetAutopilot replicates a new autopilot configuration.
func (s *Store) SetAutopilot(ctx context.Context, cfg AutopilotConfig) error {
	return s.apply(ctx, &command{Autopilot: &cfg})
}

// health tracks, on the leader, since when each follower fails heartbeats.
type health struct {
	mu      sync.Mutex
	failing map[string]time.Time // peer → last contact before failing
}

func (s *Store) watchHealth(r *hraft.Raft, stop <-chan struct{}) {
	ch := make(chan hraft.Observation, 64)
	obs := hraft.NewObserver(ch, false, func(o *hraft.Observation) bool {
		switch o.Data.(type) {
		case hraft.FailedHeartbeatObservation, hraft.ResumedHeartbeatObservation, hraft.LeaderObservation:
			return true
		}
		return false
	})
	r.RegisterObserver(obs)
	defer r.DeregisterObserver(obs)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case o := <-ch:
			s.health.mu.Lock()
			switch d := o.Data.(type) {
			case hraft.FailedHeartbeatObservation:
				if _, ok := s.health.failing[string(d.PeerID)]; !ok {
					s.health.failing[string(d.PeerID)] = d.LastContact
				}
			case hraft.ResumedHeartbeatObservation:
				delete(s.health.failing, string(d.PeerID))
			case hraft.LeaderObservation:
				clear(s.health.failing)
			}
			s.health.mu.Unlock()
		case <-tick.C:
			s.cleanupDead(r)
		}
	}
}

// cleanupDead removes voters dead for longer than the threshold.
func (s *Store) cleanupDead(r *hraft.Raft) {
	if r.State() != hraft.Leader {
		return
	}
	cfg := s.Autopilot()
	if !cfg.CleanupDeadServers {
		return
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return
	}
	voters := 0
	for _, sv := range f.Configuration().Servers {
		if sv.Suffrage == hraft.Voter {
			voters++
		}
	}
	s.health.mu.Lock()
	var dead []string
	for id, since := range s.health.failing {
		if !since.IsZero() && time.Since(since) > cfg.DeadServerLastContactThreshold {
			dead = append(dead, id)
		}
	}
	s.health.mu.Unlock()
	for _, id := range dead {
		if uint64(voters-1) < cfg.MinQuorum {
			return
		}
		if err := r.RemoveServer(hraft.ServerID(id), 0, membershipTimeout).Error(); err == nil {
			voters--
			s.health.mu.Lock()
			delete(s.health.failing, id)
			s.health.mu.Unlock()
			s.hlog.Warn("autopilot removed a dead server", "id", id)
		}
	}
}

// AutopilotState reports the cluster's health as Vault's
// sys/storage/raft/autopilot/state does.
func (s *Store) AutopilotState() (map[string]any, error) {
	r := s.raft()
	if r == nil {
		return nil, ErrNotStarted
	}
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	cfg := s.Autopilot()
	_, leader := r.LeaderWithID()
	servers := map[string]any{}
	voters, nonVoters := []string{}, []string{}
	healthyVoters := 0
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	for _, sv := range f.Configuration().Servers {
		id := string(sv.ID)
		status := "voter"
		if sv.Suffrage != hraft.Voter {
			status = "non-voter"
			nonVoters = append(nonVoters, id)
		} else {
			voters = append(voters, id)
		}
		if sv.ID == leader {
			status = "leader"
		}
		lastContact := "0s"
		healthy := true
		if since, ok := s.health.failing[id]; ok {
			d := time.Since(since)
			lastContact = d.Truncate(time.Millisecond).String()
			healthy = d <= cfg.LastContactThreshold
		}
		if healthy && sv.Suffrage == hraft.Voter {
			healthyVoters++
		}
		servers[id] = map[string]any{
			"id": id, "name": id, "address": string(sv.Address), "node_status": "alive",
			"last_contact": lastContact, "last_term": 0, "last_index": r.LastIndex(),
			"healthy": healthy, "stable_since": time.Time{}.Format(time.RFC3339), "status": status,
			"version": "", "node_type": "voter",
		}
	}
	quorum := len(voters)/2 + 1
	tolerance := healthyVoters - quorum
	if tolerance < 0 {
		tolerance = 0
	}
	return map[string]any{
		"healthy": healthyVoters == len(voters), "failure_tolerance": tolerance,
		"optimistic_failure_tolerance": tolerance,
		"servers":                      servers, "leader": string(leader), "voters": voters, "non_voters": nonVoters,
	}, nil
}
