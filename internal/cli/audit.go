package cli

import (
	"fmt"
	"sort"

	"github.com/hashicorp/vault/api"
)

// This file holds the audit command group: audit devices in sys/audit.

func newAuditCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "audit",
		synopsis: "Interact with audit devices",
		outputs:  noHTTP,
		usage: `
Usage: tresor audit <subcommand> [options] [args]

  Manages audit devices, which record every request and response (with
  secrets HMAC'd). When devices are enabled and none can record a request,
  the server refuses it.

      $ tresor audit enable file file_path=/var/log/vault-audit.log
      $ tresor audit list -detailed
      $ tresor audit disable file/

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

func newAuditEnableCommand(s *session) *command {
	var (
		p, description string
		local          bool
	)
	return &command{
		s:        s,
		name:     "audit enable",
		synopsis: "Enables an audit device",
		outputs:  withFormat,
		usage: `
Usage: tresor audit enable [options] TYPE [CONFIG K=V...]

  Enables an audit device of TYPE ("file", "socket", "syslog") at -path,
  which defaults to the type's name. KEY=VALUE pairs configure the device.

      $ tresor audit enable file file_path=/var/log/vault-audit.log
      $ tresor audit enable -path=stdout file file_path=stdout
`,
		flags: func(g *flagGroup) {
			g.stringVar(&p, "path", "", "string",
				"Place where the audit device is accessible; defaults to TYPE.")
			g.stringVar(&description, "description", "", "string",
				"Human-friendly description of the audit device.")
			g.boolVar(&local, "local", false,
				"Mark the audit device as local to this cluster: not replicated.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, -1) {
				return exitLocal
			}
			typ := args[0]
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse K=V configuration: %s", err)
			}
			options := make(map[string]string, len(data))
			for k, v := range data {
				options[k] = fmt.Sprint(v)
			}
			if p == "" {
				p = typ
			}
			p = mountPath(p)
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			err = client.Sys().EnableAuditWithOptionsWithContext(c.s.ctx, p, &api.EnableAuditOptions{
				Type:        typ,
				Description: description,
				Options:     options,
				Local:       local,
			})
			if err != nil {
				return c.apiFailed(err, "Error enabling audit device")
			}
			fmt.Fprintf(c.s.stdout, "Success! Enabled the %s audit device at: %s\n", typ, p)
			return exitOK
		},
	}
}

func newAuditListCommand(s *session) *command {
	var detailed bool
	return &command{
		s:        s,
		name:     "audit list",
		synopsis: "Lists enabled audit devices",
		outputs:  withFormat,
		usage: `
Usage: tresor audit list [options]

  Lists the enabled audit devices; -detailed adds replication and options.
  With none enabled the exit code is 2.

      $ tresor audit list -detailed
`,
		flags: func(g *flagGroup) {
			g.boolVar(&detailed, "detailed", false,
				"Print replication and options of each device.")
		},
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			audits, err := client.Sys().ListAuditWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error listing audits")
			}
			if c.format != "table" {
				return c.printer().encode(audits)
			}
			if len(audits) == 0 {
				fmt.Fprintln(c.s.stdout, "No audit devices are enabled.")
				return exitRemote
			}
			fmt.Fprintln(c.s.stdout, table(auditRows(audits, detailed)))
			return exitOK
		},
	}
}

// auditRows renders audit devices as vault's list table.
func auditRows(audits map[string]*api.Audit, detailed bool) [][]string {
	paths := make([]string, 0, len(audits))
	for p := range audits {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	rows := [][]string{{"Path", "Type", "Description"}, {"----", "----", "-----------"}}
	if detailed {
		rows = [][]string{
			{"Path", "Type", "Description", "Replication", "Options"},
			{"----", "----", "-----------", "-----------", "-------"},
		}
	}
	for _, p := range paths {
		a := audits[p]
		row := []string{p, a.Type, a.Description}
		if detailed {
			replication := "replicated"
			if a.Local {
				replication = "local"
			}
			row = append(row, replication, fmt.Sprint(a.Options))
		}
		rows = append(rows, row)
	}
	return rows
}

func newAuditDisableCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "audit disable",
		synopsis: "Disables an audit device",
		outputs:  withFormat,
		usage: `
Usage: tresor audit disable [options] PATH

  Disables the audit device at PATH. Its log is kept; nothing more is
  written to it.

      $ tresor audit disable file/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			p := mountPath(args[0])
			if err := client.Sys().DisableAuditWithContext(c.s.ctx, p); err != nil {
				return c.apiFailed(err, "Error disabling audit device")
			}
			fmt.Fprintf(c.s.stdout, "Success! Disabled audit device (if it was enabled) at: %s\n", p)
			return exitOK
		},
	}
}
