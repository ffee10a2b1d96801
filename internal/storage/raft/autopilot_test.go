package raft

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAutopilotMerge pins the forms set-config accepts: booleans and
// durations as every other endpoint reads them (internal/parse).
func TestAutopilotMerge(t *testing.T) {
	for name, tc := range map[string]struct {
		data    map[string]any
		check   func(AutopilotConfig) bool
		wantErr bool
	}{
		"bool true string":   {data: map[string]any{"cleanup_dead_servers": "true", "dead_server_last_contact_threshold": "2m"}, check: func(c AutopilotConfig) bool { return c.CleanupDeadServers }},
		"bool t any case":    {data: map[string]any{"disable_upgrade_migration": "T"}, check: func(c AutopilotConfig) bool { return c.DisableUpgradeMigration }},
		"bool number":        {data: map[string]any{"disable_upgrade_migration": json.Number("1")}, check: func(c AutopilotConfig) bool { return c.DisableUpgradeMigration }},
		"bool junk":          {data: map[string]any{"disable_upgrade_migration": "yes"}, wantErr: true},
		"duration go":        {data: map[string]any{"last_contact_threshold": "15s"}, check: func(c AutopilotConfig) bool { return c.LastContactThreshold == 15*time.Second }},
		"duration seconds":   {data: map[string]any{"server_stabilization_time": json.Number("20")}, check: func(c AutopilotConfig) bool { return c.ServerStabilizationTime == 20*time.Second }},
		"duration days":      {data: map[string]any{"server_stabilization_time": "1d"}, check: func(c AutopilotConfig) bool { return c.ServerStabilizationTime == 24*time.Hour }},
		"duration negative":  {data: map[string]any{"last_contact_threshold": "-5s"}, wantErr: true},
		"duration junk":      {data: map[string]any{"last_contact_threshold": "soon"}, wantErr: true},
		"uint":               {data: map[string]any{"max_trailing_logs": json.Number("500")}, check: func(c AutopilotConfig) bool { return c.MaxTrailingLogs == 500 }},
		"uint negative":      {data: map[string]any{"max_trailing_logs": json.Number("-1")}, wantErr: true},
		"cleanup low quorum": {data: map[string]any{"cleanup_dead_servers": true, "min_quorum": json.Number("2")}, wantErr: true},
		"unknown ignored":    {data: map[string]any{"flavour": "vanilla"}, check: func(c AutopilotConfig) bool { return c == DefaultAutopilot }},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := DefaultAutopilot.Merge(tc.data)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || !tc.check(got) {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}
