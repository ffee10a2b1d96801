package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/vault/api"
)

// The operator raft commands manage a cluster on integrated storage, with
// vault's syntax and output.

func newOperatorRaftCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft", synopsis: "Interact with a cluster on integrated Raft storage", outputs: noHTTP,
		usage: `
Usage: tresor operator raft <subcommand> [options] [args]

  Manages a cluster of servers on integrated Raft storage: join a node,
  list and remove peers, save and restore snapshots, and read or change
  autopilot's settings.

      $ tresor operator raft join https://node1:8200
      $ tresor operator raft list-peers
`,
	}
}

func newOperatorRaftJoinCommand(s *session) *command {
	var caFile, certFile, keyFile string
	var retry, nonVoter bool
	return &command{
		s: s, name: "operator raft join", synopsis: "Joins a node to the Raft cluster",
		usage: `
Usage: tresor operator raft join [options] LEADER_API_ADDR

  Asks the server at VAULT_ADDR (a new, uninitialised node) to join the Raft
  cluster whose node answers at LEADER_API_ADDR. Then unseal the joining
  node with the cluster's unseal keys: it proves it holds them and receives
  the cluster's data.

      $ tresor operator raft join https://node1:8200
      $ tresor operator unseal
`,
		flags: func(g *flagGroup) {
			g.stringVar(&caFile, "leader-ca-cert", "", "path", "CA certificate (PEM file) to verify the leader's API TLS certificate.")
			g.stringVar(&certFile, "leader-client-cert", "", "path", "Client certificate (PEM file) to present to the leader.")
			g.stringVar(&keyFile, "leader-client-key", "", "path", "Key of the client certificate (PEM file).")
			g.boolVar(&retry, "retry", false, "Keep retrying the join until it succeeds.")
			g.boolVar(&nonVoter, "non-voter", false, "Join as a non-voting member.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			req := &api.RaftJoinRequest{LeaderAPIAddr: args[0], Retry: retry, NonVoter: nonVoter}
			for _, f := range []struct {
				path string
				dst  *string
			}{{caFile, &req.LeaderCACert}, {certFile, &req.LeaderClientCert}, {keyFile, &req.LeaderClientKey}} {
				if f.path == "" {
					continue
				}
				b, err := os.ReadFile(f.path)
				if err != nil {
					c.s.errorf("Error reading %s: %s", f.path, err)
					return exitLocal
				}
				*f.dst = string(b)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			resp, err := client.Sys().RaftJoinWithContext(c.s.ctx, req)
			if err != nil {
				return c.apiFailed(err, "Error joining the node to the Raft cluster")
			}
			fmt.Fprintln(c.s.stdout, table([][]string{{"Key", "Value"}, {"---", "-----"}, {"Joined", fmt.Sprint(resp.Joined)}}))
			return exitOK
		},
	}
}

func newOperatorRaftListPeersCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft list-peers", synopsis: "Returns the Raft peer set", outputs: withFormat,
		usage: `
Usage: tresor operator raft list-peers [options]

  Lists the members of the Raft cluster, with their address, state and
  whether they vote.

      $ tresor operator raft list-peers
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			sec, err := client.Logical().ReadWithContext(c.s.ctx, "sys/storage/raft/configuration")
			if err != nil {
				return c.apiFailed(err, "Error reading the Raft cluster configuration")
			}
			if sec == nil || sec.Data == nil {
				c.s.errorf("No raft cluster configuration found")
				return exitRemote
			}
			p := c.printer()
			if p.format != "table" {
				return p.encode(sec)
			}
			conf, _ := sec.Data["config"].(map[string]any)
			servers, _ := conf["servers"].([]any)
			rows := [][]string{{"Node", "Address", "State", "Voter"}, {"----", "-------", "-----", "-----"}}
			for _, raw := range servers {
				sv, _ := raw.(map[string]any)
				state := "follower"
				if b, _ := sv["leader"].(bool); b {
					state = "leader"
				}
				rows = append(rows, []string{fmt.Sprint(sv["node_id"]), fmt.Sprint(sv["address"]), state, fmt.Sprint(sv["voter"])})
			}
			fmt.Fprintln(c.s.stdout, table(rows))
			return exitOK
		},
	}
}

func newOperatorRaftRemovePeerCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft remove-peer", synopsis: "Removes a node from the Raft cluster",
		usage: `
Usage: tresor operator raft remove-peer [options] SERVER_ID

  Removes a node from the Raft cluster. The node should be stopped first.

      $ tresor operator raft remove-peer node3
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			if _, err := client.Logical().WriteWithContext(c.s.ctx, "sys/storage/raft/remove-peer", map[string]any{"server_id": args[0]}); err != nil {
				return c.apiFailed(err, "Error removing the peer from the Raft cluster")
			}
			fmt.Fprintf(c.s.stdout, "Peer removed successfully!\n")
			return exitOK
		},
	}
}

func newOperatorRaftSnapshotCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft snapshot", synopsis: "Saves and restores snapshots of the Raft cluster", outputs: noHTTP,
		usage: `
Usage: tresor operator raft snapshot <subcommand> [options] [args]

      $ tresor operator raft snapshot save raft.snap
      $ tresor operator raft snapshot restore raft.snap
`,
	}
}

func newOperatorRaftSnapshotSaveCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft snapshot save", synopsis: "Saves a snapshot of the Raft cluster",
		usage: `
Usage: tresor operator raft snapshot save [options] FILE

  Writes a snapshot of the cluster's data (encrypted, as stored) to FILE.

      $ tresor operator raft snapshot save raft.snap
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			var apiErr error
			err := writeFileAtomic(args[0], func(w io.Writer) error {
				apiErr = client.Sys().RaftSnapshotWithContext(c.s.ctx, w)
				return apiErr
			})
			switch {
			case apiErr != nil:
				return c.apiFailed(apiErr, "Error taking the snapshot")
			case err != nil:
				c.s.errorf("Error writing the snapshot file: %s", err)
				return exitLocal
			}
			return exitOK
		},
	}
}

func newOperatorRaftSnapshotRestoreCommand(s *session) *command {
	var force bool
	return &command{
		s: s, name: "operator raft snapshot restore", synopsis: "Installs a snapshot, replacing the cluster's data",
		usage: `
Usage: tresor operator raft snapshot restore [options] FILE

  Replaces all of the cluster's data with the snapshot in FILE. A snapshot
  of another cluster (other keys) needs -force; the cluster then seals and
  unseals with that cluster's keys.

      $ tresor operator raft snapshot restore raft.snap
`,
		flags: func(g *flagGroup) {
			g.boolVar(&force, "force", false, "Install a snapshot taken on another cluster.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			f, err := os.Open(args[0])
			if err != nil {
				c.s.errorf("Error opening the snapshot file: %s", err)
				return exitLocal
			}
			defer f.Close()
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if err := client.Sys().RaftSnapshotRestoreWithContext(c.s.ctx, f, force); err != nil {
				return c.apiFailed(err, "Error installing the snapshot")
			}
			return exitOK
		},
	}
}

func newOperatorRaftAutopilotCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft autopilot", synopsis: "Reads and changes autopilot's settings", outputs: noHTTP,
		usage: `
Usage: tresor operator raft autopilot <subcommand> [options]

      $ tresor operator raft autopilot state
      $ tresor operator raft autopilot set-config -cleanup-dead-servers=true -min-quorum=3
`,
	}
}

func newOperatorRaftAutopilotStateCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft autopilot state", synopsis: "Shows the cluster's health as autopilot sees it", outputs: withFormat,
		usage: `
Usage: tresor operator raft autopilot state [options]

      $ tresor operator raft autopilot state
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			st, err := client.Sys().RaftAutopilotStateWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error checking autopilot state")
			}
			if st == nil {
				c.s.errorf("No autopilot state")
				return exitRemote
			}
			p := c.printer()
			if p.format != "table" {
				return p.encode(st)
			}
			rows := [][]string{{"Healthy:", fmt.Sprint(st.Healthy)}, {"Failure Tolerance:", fmt.Sprint(st.FailureTolerance)},
				{"Leader:", st.Leader}, {"Voters:", ""}}
			for _, v := range st.Voters {
				rows = append(rows, []string{"   " + v, ""})
			}
			ids := make([]string, 0, len(st.Servers))
			for id := range st.Servers {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			out := columns(rows, " ") + "\n\nServers:"
			for _, id := range ids {
				sv := st.Servers[id]
				out += fmt.Sprintf("\n   %s\n      Name:            %s\n      Address:         %s\n      Status:          %s\n      Node Status:     %s\n      Healthy:         %t\n      Last Contact:    %s\n      Last Index:      %d",
					id, sv.Name, sv.Address, sv.Status, sv.NodeStatus, sv.Healthy, sv.LastContact, sv.LastIndex)
			}
			fmt.Fprintln(c.s.stdout, out)
			return exitOK
		},
	}
}

func newOperatorRaftAutopilotGetConfigCommand(s *session) *command {
	return &command{
		s: s, name: "operator raft autopilot get-config", synopsis: "Shows autopilot's configuration", outputs: withFormat,
		usage: `
Usage: tresor operator raft autopilot get-config [options]

      $ tresor operator raft autopilot get-config
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			cfg, err := client.Sys().RaftAutopilotConfigurationWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error reading autopilot configuration")
			}
			if cfg == nil {
				c.s.errorf("No autopilot configuration")
				return exitRemote
			}
			p := c.printer()
			if p.format != "table" {
				return p.encode(cfg)
			}
			p.keyValues([][]string{
				{"Cleanup Dead Servers", fmt.Sprint(cfg.CleanupDeadServers)},
				{"Last Contact Threshold", cfg.LastContactThreshold.String()},
				{"Dead Server Last Contact Threshold", cfg.DeadServerLastContactThreshold.String()},
				{"Server Stabilization Time", cfg.ServerStabilizationTime.String()},
				{"Min Quorum", fmt.Sprint(cfg.MinQuorum)},
				{"Max Trailing Logs", fmt.Sprint(cfg.MaxTrailingLogs)},
				{"Disable Upgrade Migration", fmt.Sprint(cfg.DisableUpgradeMigration)},
			})
			return exitOK
		},
	}
}

func newOperatorRaftAutopilotSetConfigCommand(s *session) *command {
	var cleanup, disableUpgrade string
	var lastContact, deadThreshold, stabilization time.Duration
	var minQuorum, maxTrailing int
	return &command{
		s: s, name: "operator raft autopilot set-config", synopsis: "Changes autopilot's configuration",
		usage: `
Usage: tresor operator raft autopilot set-config [options]

  Changes the settings given; the others keep their values.

      $ tresor operator raft autopilot set-config -cleanup-dead-servers=true \
          -dead-server-last-contact-threshold=10m -min-quorum=3
`,
		flags: func(g *flagGroup) {
			g.stringVar(&cleanup, "cleanup-dead-servers", "", "true|false", "Remove voters the leader has not heard from for longer than the dead server threshold.")
			g.durationVar(&lastContact, "last-contact-threshold", 0, "Longest time without contact for a server to count as healthy.")
			g.durationVar(&deadThreshold, "dead-server-last-contact-threshold", 0, "Time without contact after which a server is dead.")
			g.durationVar(&stabilization, "server-stabilization-time", 0, "Time a new server must be healthy before it is promoted.")
			g.intVar(&minQuorum, "min-quorum", 0, "Fewest voters autopilot leaves when removing dead servers.")
			g.intVar(&maxTrailing, "max-trailing-logs", 0, "Most log entries a healthy server may lag.")
			g.stringVar(&disableUpgrade, "disable-upgrade-migration", "", "true|false", "Accepted for compatibility.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 0) {
				return exitLocal
			}
			data := map[string]any{}
			if cleanup != "" {
				data["cleanup_dead_servers"] = cleanup
			}
			if disableUpgrade != "" {
				data["disable_upgrade_migration"] = disableUpgrade
			}
			if lastContact > 0 {
				data["last_contact_threshold"] = lastContact.String()
			}
			if deadThreshold > 0 {
				data["dead_server_last_contact_threshold"] = deadThreshold.String()
			}
			if stabilization > 0 {
				data["server_stabilization_time"] = stabilization.String()
			}
			if minQuorum > 0 {
				data["min_quorum"] = minQuorum
			}
			if maxTrailing > 0 {
				data["max_trailing_logs"] = maxTrailing
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if _, err := client.Logical().WriteWithContext(c.s.ctx, "sys/storage/raft/autopilot/configuration", data); err != nil {
				return c.apiFailed(err, "Error updating autopilot configuration")
			}
			return exitOK
		},
	}
}
