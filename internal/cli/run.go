package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/agent"
)

// This file holds "tresor run": start a program with the references in
// its environment (tresor://, vault://, dso://PATH#KEY) replaced by the
// secrets they name.

func newRunCommand(s *session) *command {
	var (
		envFiles []string
		watch    bool
		interval time.Duration
		mask     bool
		grace    time.Duration
	)
	return &command{
		s:        s,
		name:     "run",
		synopsis: "Run a program with secrets from references in its environment",
		rawArgs:  true,
		usage: `
Usage: tresor run [options] -- COMMAND [ARGS...]

  Starts COMMAND with every environment variable whose value is a
  reference replaced by the secret it names:

      DB_PASSWORD=tresor://secret/app#password        KV v1 or v2 (data/ added)
      API_KEY=vault://secret/data/app#api_key?version=3
      DB_USER=dso://database/creds/app#username       dynamic secrets: one read
      DB_PASS=dso://database/creds/app#password       per path, shared

  Variables come from the process environment and any -env-file (later
  files win). If the server cannot be reached, a path is missing or
  denied, or a key is absent, COMMAND is not started, the exit status is
  2 and the message names the reference (never a value). Otherwise the
  exit status is COMMAND's; signals are forwarded to it.

  The token comes from TRESOR_TOKEN/VAULT_TOKEN; without one, an AppRole
  login with VAULT_ROLE_ID and VAULT_SECRET_ID; else the token file.

      $ tresor run -env-file=app.env -- ./server
      $ tresor run -watch -interval=1m -- ./worker
`,
		flags: func(g *flagGroup) {
			g.stringsVar(&envFiles, "env-file", "FILE",
				"Read KEY=VALUE lines (docker compose's .env format) into the "+
					"environment of COMMAND; repeat for more.")
			g.boolVar(&watch, "watch", false,
				"Keep the secrets fresh (every -interval, renewing leases) and "+
					"restart COMMAND when a value changes.")
			g.durationVar(&interval, "interval", 5*time.Minute,
				"How often -watch re-reads secrets that have no lease (default 5m).")
			g.boolVar(&mask, "mask", false,
				"Replace secret values COMMAND prints on stdout or stderr by "+
					"\""+agent.Concealed+"\" (values shorter than 4 bytes are left).")
			g.durationVar(&grace, "grace", 5*time.Second,
				"How long a restarted COMMAND may take to stop after SIGTERM before "+
					"it is killed (default 5s).")
		},
		run: func(c *command, args []string) int {
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			if len(args) == 0 {
				return c.usageError("Missing COMMAND: tresor run [options] -- COMMAND [ARGS...]")
			}
			env := c.s.environ()
			for _, f := range envFiles {
				b, err := os.ReadFile(f)
				if err != nil {
					c.s.errorf("Error reading env file: %s", err)
					return exitLocal
				}
				vars, err := agent.ParseEnvFile(string(b))
				if err != nil {
					c.s.errorf("Error parsing env file %s: %s", f, err)
					return exitLocal
				}
				env = append(env, vars...)
			}
			var (
				client *api.Client
				keeper *agent.Keeper
				code   int
			)
			if hasRefs(env) {
				client, keeper, code = c.agentClient()
			} else {
				client, code = c.clientOrFail() // nothing to resolve: no login needed
			}
			if code != exitOK {
				return code
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
				syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
			defer signal.Stop(sigs)
			status, err := agent.Run(context.WithoutCancel(c.s.ctx), client, agent.RunOptions{
				Env:      env,
				Command:  args,
				Stdin:    c.s.env.Stdin,
				Stdout:   c.s.stdout,
				Stderr:   c.s.stderr,
				Watch:    watch,
				Interval: interval,
				Mask:     mask,
				Grace:    grace,
				Signals:  sigs,
				Logger:   c.logger(),
				Keeper:   keeper,
			})
			var runErr *agent.RunError
			if errors.As(err, &runErr) {
				c.s.errorf("Error: not starting %s:\n%s", args[0], err)
				return exitRemote
			}
			if err != nil {
				c.s.errorf("Error: %s", err)
				return exitRemote
			}
			return status
		},
	}
}

func hasRefs(env []string) bool {
	for _, kv := range env {
		if _, v, _ := strings.Cut(kv, "="); agent.IsRef(v) {
			return true
		}
	}
	return false
}

// environ is the environment given to Main.
func (s *session) environ() []string {
	if s.env.Environ == nil {
		return nil
	}
	return s.env.Environ()
}

// logger writes the agent's log lines on stderr.
func (c *command) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c.s.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// agentClient is client for the commands that fetch secrets for others:
// without TRESOR_TOKEN/VAULT_TOKEN but with VAULT_ROLE_ID (and
// VAULT_SECRET_ID), it logs in with AppRole first. The keeper renews
// whichever token it ends up with.
func (c *command) agentClient() (*api.Client, *agent.Keeper, int) {
	client, code := c.clientOrFail()
	if code != exitOK {
		return nil, nil, code
	}
	if c.s.getenv("TOKEN") == "" && c.s.getenv("ROLE_ID") != "" {
		method := &agent.AppRole{RoleID: c.s.getenv("ROLE_ID"), SecretID: c.s.getenv("SECRET_ID")}
		keeper := agent.NewKeeper(client, method, nil, agent.KeeperOptions{Logger: c.logger()})
		if err := keeper.Login(c.s.ctx); err != nil {
			c.s.errorf("Error authenticating with VAULT_ROLE_ID and VAULT_SECRET_ID: %s", err)
			return nil, nil, exitRemote
		}
		return client, keeper, exitOK
	}
	if client.Token() == "" {
		c.s.errorf("Error: no token (set TRESOR_TOKEN or VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID)")
		return nil, nil, exitLocal
	}
	// The token is looked up (for its TTL) only when it must be renewed.
	keeper := agent.NewKeeper(client, agent.Token{Token: client.Token()}, nil, agent.KeeperOptions{Logger: c.logger()})
	return client, keeper, exitOK
}
