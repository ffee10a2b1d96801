package cli

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/hashicorp/vault/api"
)

// This file holds the secrets command group: enabling, tuning, moving and
// listing secrets engines (sys/mounts).

func newSecretsCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "secrets",
		synopsis: "Interact with secrets engines",
		outputs:  noHTTP,
		usage: `
Usage: tresor secrets <subcommand> [options] [args]

  Manages secrets engines: each is enabled at a path and serves every
  request below it.

      $ tresor secrets enable -path=kv1 -version=1 kv
      $ tresor secrets list -detailed
      $ tresor secrets tune -max-lease-ttl=72h kv1
      $ tresor secrets move kv1 kv-legacy
      $ tresor secrets disable kv-legacy

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

// mountFlags are the settings shared by secrets enable/tune and auth
// enable/tune.
type mountFlags struct {
	path, description         string
	defaultTTL, maxTTL        string
	version                   int
	options                   map[string]string
	local, sealWrap, external bool
}

func (f *mountFlags) ttlFlags(g *flagGroup, what string) {
	g.stringVar(&f.defaultTTL, "default-lease-ttl", "", "duration",
		`Default lease TTL for this `+what+` ("30m", "24h"); unset uses the system default.`)
	g.stringVar(&f.maxTTL, "max-lease-ttl", "", "duration",
		`Maximum lease TTL for this `+what+`; unset uses the system maximum.`)
}

func (f *mountFlags) optionFlags(g *flagGroup) {
	g.mapVar(&f.options, "options", "key=value",
		"An option for the plugin, such as version=2 for kv; repeat the flag for more.")
	g.intVar(&f.version, "version", 0,
		"Select the plugin's version; for kv, 1 or 2. Same as -options=version=N.")
}

// mergedOptions adds -version to -options.
func (f *mountFlags) mergedOptions() map[string]string {
	opts := f.options
	if f.version > 0 {
		if opts == nil {
			opts = map[string]string{}
		}
		opts["version"] = strconv.Itoa(f.version)
	}
	return opts
}

func newSecretsEnableCommand(s *session) *command {
	var f mountFlags
	return &command{
		s:        s,
		name:     "secrets enable",
		synopsis: "Enable a secrets engine",
		outputs:  withFormat,
		usage: `
Usage: tresor secrets enable [options] TYPE

  Enables a secrets engine of TYPE at -path, which defaults to the type's
  name. "kv-v2" is kv with version 2.

      $ tresor secrets enable -path=kv1 -version=1 kv
      $ tresor secrets enable -path=apps -description="app secrets" kv-v2
`,
		flags: func(g *flagGroup) {
			g.stringVar(&f.path, "path", "", "string",
				"Place where the secrets engine is accessible; defaults to TYPE.")
			g.stringVar(&f.description, "description", "", "string",
				"Human-friendly description of the engine, shown by secrets list.")
			f.ttlFlags(g, "engine")
			f.optionFlags(g)
			g.boolVar(&f.local, "local", false,
				"Mark the engine as local to this cluster: not replicated.")
			g.boolVar(&f.sealWrap, "seal-wrap", false,
				"Seal-wrap the engine's critical values.")
			g.boolVar(&f.external, "external-entropy-access", false,
				"Give the engine access to the seal's entropy source.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			typ := args[0]
			p := f.path
			if p == "" {
				p = typ
			}
			p = mountPath(p)
			in := &api.MountInput{
				Type:                  typ,
				Description:           f.description,
				Local:                 f.local,
				SealWrap:              f.sealWrap,
				ExternalEntropyAccess: f.external,
				Options:               f.mergedOptions(),
				Config: api.MountConfigInput{
					DefaultLeaseTTL: f.defaultTTL,
					MaxLeaseTTL:     f.maxTTL,
				},
			}
			if typ == "kv-v2" {
				// Also understood by servers that only know "kv".
				in.Type = "kv"
				if in.Options == nil {
					in.Options = map[string]string{}
				}
				in.Options["version"] = "2"
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if err := client.Sys().MountWithContext(c.s.ctx, p, in); err != nil {
				return c.apiFailed(err, "Error enabling")
			}
			fmt.Fprintf(c.s.stdout, "Success! Enabled the %s secrets engine at: %s\n", typ, p)
			return exitOK
		},
	}
}

func newSecretsDisableCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "secrets disable",
		synopsis: "Disable a secrets engine",
		outputs:  withFormat,
		usage: `
Usage: tresor secrets disable [options] PATH

  Disables the secrets engine at PATH. All its secrets are revoked and its
  data is deleted.

      $ tresor secrets disable kv1/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			p := mountPath(args[0])
			if err := client.Sys().UnmountWithContext(c.s.ctx, p); err != nil {
				return c.apiFailed(err, "Error disabling secrets engine at %s", p)
			}
			fmt.Fprintf(c.s.stdout, "Success! Disabled the secrets engine (if it existed) at: %s\n", p)
			return exitOK
		},
	}
}

func newSecretsListCommand(s *session) *command {
	var detailed bool
	return &command{
		s:        s,
		name:     "secrets list",
		synopsis: "List enabled secrets engines",
		outputs:  withFormat,
		usage: `
Usage: tresor secrets list [options]

  Lists the enabled secrets engines; -detailed adds TTLs, options and
  replication settings.

      $ tresor secrets list -detailed
`,
		flags: func(g *flagGroup) {
			g.boolVar(&detailed, "detailed", false,
				"Print TTLs, options, replication and other settings of each engine.")
		},
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			mounts, err := client.Sys().ListMountsWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error listing secrets engines")
			}
			if c.format != "table" {
				return c.printer().encode(mounts)
			}
			fmt.Fprintln(c.s.stdout, table(mountRows(mounts, detailed)))
			return exitOK
		},
	}
}

// mountRows renders mounts (secrets engines or auth methods) as vault's
// list table.
func mountRows(mounts map[string]*api.MountOutput, detailed bool) [][]string {
	paths := make([]string, 0, len(mounts))
	for p := range mounts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var rows [][]string
	if detailed {
		rows = [][]string{
			{"Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Force No Cache", "Replication", "Seal Wrap", "External Entropy Access", "Options", "Description", "UUID"},
			{"----", "------", "--------", "-----------", "-------", "--------------", "-----------", "---------", "-----------------------", "-------", "-----------", "----"},
		}
	} else {
		rows = [][]string{{"Path", "Type", "Accessor", "Description"}, {"----", "----", "--------", "-----------"}}
	}
	for _, p := range paths {
		m := mounts[p]
		if !detailed {
			rows = append(rows, []string{p, m.Type, m.Accessor, m.Description})
			continue
		}
		replication := "replicated"
		if m.Local {
			replication = "local"
		}
		rows = append(rows, []string{
			p, m.Type, m.Accessor,
			ttlOrSystem(m.Config.DefaultLeaseTTL), ttlOrSystem(m.Config.MaxLeaseTTL),
			strconv.FormatBool(m.Config.ForceNoCache), replication,
			strconv.FormatBool(m.SealWrap), strconv.FormatBool(m.ExternalEntropyAccess),
			fmt.Sprint(m.Options), m.Description, m.UUID,
		})
	}
	return rows
}

// ttlOrSystem shows a mount TTL, "system" when it defers to the system's.
func ttlOrSystem(sec int) string {
	if sec == 0 {
		return "system"
	}
	return humanSeconds(sec)
}

func newSecretsTuneCommand(s *session) *command {
	var f mountFlags
	return &command{
		s:        s,
		name:     "secrets tune",
		synopsis: "Tune a secrets engine configuration",
		outputs:  withFormat,
		usage: `
Usage: tresor secrets tune [options] PATH

  Changes the settings of the secrets engine at PATH. Only the settings
  given are changed. Tuning kv with -options=version=2 upgrades a version 1
  mount to version 2.

      $ tresor secrets tune -max-lease-ttl=72h kv1/
      $ tresor secrets tune -options=version=2 kv1/
`,
		flags: func(g *flagGroup) {
			g.stringVar(&f.description, "description", "", "string",
				"New description of the engine.")
			f.ttlFlags(g, "engine")
			f.optionFlags(g)
		},
		run: func(c *command, args []string) int {
			return c.tuneMount(args, f, "sys/mounts/", "secrets engine")
		},
	}
}

// tuneMount is the body of secrets tune and auth tune: a write to
// <prefix><path>/tune ("sys/mounts/" or "sys/auth/"); what names the kind
// of mount in messages.
func (c *command) tuneMount(args []string, f mountFlags, prefix, what string) int {
	client, code := c.argsAndClient(args, 1, 1)
	if client == nil {
		return code
	}
	p := mountPath(args[0])
	if _, err := client.Logical().WriteWithContext(c.s.ctx, prefix+p+"tune", f.tuneBody()); err != nil {
		return c.apiFailed(err, "Error tuning %s %s", what, p)
	}
	fmt.Fprintf(c.s.stdout, "Success! Tuned the %s at: %s\n", what, p)
	return exitOK
}

// tuneBody is the tune request: only the settings that were given.
func (f *mountFlags) tuneBody() map[string]any {
	body := map[string]any{}
	if f.defaultTTL != "" {
		body["default_lease_ttl"] = f.defaultTTL
	}
	if f.maxTTL != "" {
		body["max_lease_ttl"] = f.maxTTL
	}
	if f.description != "" {
		body["description"] = f.description
	}
	if opts := f.mergedOptions(); opts != nil {
		body["options"] = opts
	}
	return body
}

func newSecretsMoveCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "secrets move",
		synopsis: "Move a secrets engine to a new path",
		outputs:  withFormat,
		usage: `
Usage: tresor secrets move [options] SOURCE DESTINATION

  Moves the secrets engine at SOURCE, with its data, to DESTINATION.
  Leases issued under SOURCE are revoked.

      $ tresor secrets move kv1/ kv-legacy/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 2, 2)
			if client == nil {
				return code
			}
			from, to := mountPath(args[0]), mountPath(args[1])
			if err := client.Sys().RemountWithContext(c.s.ctx, from, to); err != nil {
				return c.apiFailed(err, "Error moving secrets engine %s to %s", from, to)
			}
			fmt.Fprintf(c.s.stdout, "Success! Finished moving secrets engine %s to %s\n", from, to)
			return exitOK
		},
	}
}
