package cli

import (
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tresorhq/tresor/internal/agent"
)

// This file holds "tresor agent": Vault Agent's configuration file, run
// as it is — auto-auth with a token sink, templates, env templates and a
// supervised child.

func newAgentCommand(s *session) *command {
	var (
		configPath    string
		exitAfterAuth bool
		logLevel      string
		reg           registryFlags
	)
	return &command{
		s:        s,
		name:     "agent",
		synopsis: "Run an agent from a Vault Agent configuration",
		outputs:  noHTTP,
		usage: `
Usage: tresor agent -config=FILE [options]
       tresor agent -registry=FILE -machine=NAME [options]
       tresor agent -registry=FILE [-machine=NAME] status

  Runs Vault Agent's configuration (HCL or JSON) unchanged: auto_auth
  (approle, token_file or cert) with file sinks, token renewal and
  re-login; template and env_template stanzas in consul-template's
  language, rendered atomically and kept fresh (static secrets every
  template_config.static_secret_render_interval, leased ones renewed);
  and exec, a child started with the env templates and restarted when
  they change. Stanzas Tresor does not implement (cache, listener,
  api_proxy, telemetry) are accepted with a warning.

      $ tresor agent -config=agent.hcl
      $ tresor agent -config=agent.hcl -exit-after-auth

  With -registry, runs the services of one machine of a Portoser registry
  (YAML): logs in with the machine's AppRole, starts each of its services
  with exactly the variables its vault_secrets, vault_dynamic and
  vault_certs name, restarts them when they crash, and every
  rotation_interval restarts only the auto_rotate services whose values
  changed, one at a time, each gated by its health_command (a failed
  check restores the previous values). "status" prints what the agent of
  each machine last wrote to its status file.

      $ tresor agent -registry=registry.yml -machine=m1
      $ tresor agent -registry=registry.yml status
`,
		flags: func(g *flagGroup) {
			g.stringVar(&configPath, "config", "", "FILE", "The agent configuration file (HCL or JSON).")
			g.boolVar(&exitAfterAuth, "exit-after-auth", false,
				"Exit once auto-auth has written its sinks.")
			g.stringVar(&logLevel, "log-level", "info", "level", "debug, info, warn or error.")
			reg.flags(g)
		},
		run: func(c *command, args []string) int {
			var level slog.Level
			if err := level.UnmarshalText([]byte(strings.ToLower(logLevel))); err != nil {
				return c.usageError("Invalid -log-level %q.", logLevel)
			}
			log := slog.New(slog.NewTextHandler(c.s.stderr, &slog.HandlerOptions{Level: level}))
			if reg.file != "" {
				if configPath != "" {
					return c.usageError("-config and -registry exclude each other.")
				}
				return runRegistry(c, &reg, args, log)
			}
			if !c.wantArgs(args, 0, 0) {
				return exitLocal
			}
			if configPath == "" {
				return c.usageError("Missing -config=FILE (or -registry=FILE).")
			}
			cfg, err := agent.LoadConfig(configPath)
			if err != nil {
				c.s.errorf("Error loading configuration from %s: %s", configPath, err)
				return exitLocal
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
			defer signal.Stop(sigs)
			a, err := agent.New(cfg, agent.Options{
				Stdin:  c.s.env.Stdin,
				Stdout: c.s.stdout,
				Stderr: c.s.stderr,
				Logger: log,
				Getenv: func(k string) string {
					if suffix, ok := strings.CutPrefix(k, "VAULT_"); ok {
						return c.s.getenv(suffix) // TRESOR_ADDR wins over VAULT_ADDR
					}
					return c.s.env.Getenv(k)
				},
				Environ:       c.s.environ(),
				ExitAfterAuth: exitAfterAuth,
				Signals:       sigs,
			})
			if err != nil {
				c.s.errorf("Error: %s", err)
				return exitLocal
			}
			code, err := a.Run(c.s.ctx)
			if err != nil && c.s.ctx.Err() == nil {
				c.s.errorf("Error: %s", err)
				if code == 0 {
					code = exitRemote
				}
			}
			return code
		},
	}
}
