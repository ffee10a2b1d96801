package cli

import "fmt"

// kvMovePath is the Tresor endpoint that moves or copies one KV secret,
// all its versions and metadata, in one transaction. Vault has no such
// endpoint; this command only works against Tresor.
const kvMovePath = "sys/kv/move"

func newKVMoveCommand(s *session) *command {
	var copyOnly bool
	return &command{
		s:        s,
		name:     "kv move",
		synopsis: "Moves or copies a secret with all its versions",
		outputs:  withFormat,
		usage: `
Usage: tresor kv move [options] SOURCE DESTINATION

  Moves the secret at SOURCE, with every version and its metadata, to
  DESTINATION, atomically. Both are "mount/path", and the mounts may
  differ (two KV version 2 engines). DESTINATION must not exist yet.
  With -copy the source stays in place.

      $ tresor kv move secret/app/db secret/app/db-old
      $ tresor kv move -copy secret/app kv-archive/app

  This is a Tresor extension (PUT sys/kv/move); Vault servers lack it.
`,
		flags: func(g *flagGroup) {
			g.boolVar(&copyOnly, "copy", false, "Copy the secret instead of moving it.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 2, 2) {
				return exitLocal
			}
			from, to := sanitizePath(args[0]), sanitizePath(args[1])
			if from == "" || to == "" {
				return c.usageError("Source and destination must be non-empty paths")
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			body := map[string]any{"from": from, "to": to, "copy": copyOnly}
			secret, err := client.Logical().WriteWithContext(c.s.ctx, kvMovePath, body)
			verb := "moving"
			if copyOnly {
				verb = "copying"
			}
			if err != nil {
				return c.apiFailed(err, "Error %s %s to %s", verb, from, to)
			}
			if secret != nil && (isWrapped(secret) || c.format != "table") {
				return c.printer().secret(secret)
			}
			if secret != nil {
				c.printer().warnings(secret)
			}
			if copyOnly {
				fmt.Fprintf(c.s.stdout, "Success! Copied %s to %s\n", from, to)
			} else {
				fmt.Fprintf(c.s.stdout, "Success! Moved %s to %s\n", from, to)
			}
			return exitOK
		},
	}
}
