package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/tresorhq/tresor/internal/agent"
)

// This file holds "tresor inject": references in any text file replaced by
// their secrets, written where only memory holds them.

func newInjectCommand(s *session) *command {
	var (
		in, out   string
		allowDisk bool
	)
	return &command{
		s:        s,
		name:     "inject",
		synopsis: "Write a file with its secret references resolved",
		usage: `
Usage: tresor inject -in=FILE -out=FILE [options]

  Replaces every reference in FILE (a compose file, an .env file, a
  configuration template) by the secret it names, as "tresor run" does for
  environment variables:

      DB_PASSWORD=dso://secret/data/app#password
      api_key: tresor://secret/app#api_key?version=2

  The result is written with mode 0600, atomically, and only to a tmpfs or
  ramfs (such as /dev/shm) unless -allow-disk is given. "-out=-" writes to
  stdout; "-in=-" reads stdin. On any failure nothing is written and the
  message names the reference, never a value.

      $ tresor inject -in=app.env.tpl -out=/dev/shm/app.env
      $ docker compose --env-file /dev/shm/app.env up
`,
		flags: func(g *flagGroup) {
			g.stringVar(&in, "in", "", "FILE", "The file with references; - for stdin.")
			g.stringVar(&out, "out", "", "FILE", "Where to write the result; - for stdout.")
			g.boolVar(&allowDisk, "allow-disk", false,
				"Allow -out on a file system other than tmpfs or ramfs.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 0) {
				return exitLocal
			}
			if in == "" || out == "" {
				return c.usageError("Both -in and -out are required.")
			}
			if out != "-" && !allowDisk {
				if err := agent.CheckMemoryFS(filepath.Dir(out)); err != nil {
					if errors.Is(err, agent.ErrOnDisk) {
						c.s.errorf("Error: refusing to write secrets to %s: %s (use a tmpfs such as /dev/shm, or -allow-disk)", out, err)
					} else {
						c.s.errorf("Error: %s", err)
					}
					return exitLocal
				}
			}
			var (
				text []byte
				err  error
			)
			if in == "-" {
				text, err = io.ReadAll(c.s.stdin)
			} else {
				text, err = os.ReadFile(in)
			}
			if err != nil {
				c.s.errorf("Error reading input: %s", err)
				return exitLocal
			}
			client, _, code := c.agentClient()
			if code != exitOK {
				return code
			}
			result, err := agent.Inject(c.s.ctx, client, string(text))
			if err != nil {
				c.s.errorf("Error: nothing written:\n%s", err)
				return exitRemote
			}
			if out == "-" {
				_, _ = io.WriteString(c.s.stdout, result)
				return exitOK
			}
			if err := agent.WriteFileAtomic(out, []byte(result), 0o600); err != nil {
				c.s.errorf("Error writing %s: %s", out, err)
				return exitLocal
			}
			return exitOK
		},
	}
}
