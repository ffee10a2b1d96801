package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// This file holds the lease command group: looking up, listing, renewing
// and revoking the leases attached to dynamic secrets (sys/leases/*).
// Token leases are handled by the token commands.

func newLeaseCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "lease",
		synopsis: "Interact with leases",
		outputs:  noHTTP,
		usage: `
Usage: tresor lease <subcommand> [options] [args]

  Works with the leases of secrets: every dynamic secret comes with a lease
  ID that can be looked up, renewed before it expires, or revoked early.
  For the leases of tokens, use "tresor token".

      $ tresor lease lookup database/creds/readonly/2f6a614c-4aa2-7b19
      $ tresor lease renew -increment=1h database/creds/readonly/2f6a614c-4aa2-7b19
      $ tresor lease revoke -prefix database/creds/readonly
      $ tresor lease list database/creds/readonly/

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

func newLeaseRenewCommand(s *session) *command {
	var increment time.Duration
	return &command{
		s:        s,
		name:     "lease renew",
		synopsis: "Renews the lease of a secret",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor lease renew [options] ID

  Extends the lease of a secret so that it can be used for longer. The
  secret itself does not change. The server may grant less than asked,
  and never more than the lease's maximum TTL.

      $ tresor lease renew database/creds/readonly/2f6a614c-4aa2-7b19
      $ tresor lease renew -increment=30m database/creds/readonly/2f6a614c-4aa2-7b19
`,
		flags: func(g *flagGroup) {
			g.durationVar(&increment, "increment", 0,
				`Requested extension ("30m" or seconds). Unset asks for the `+
					`engine's default TTL.`, "i")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 2) {
				return exitLocal
			}
			id := strings.TrimSpace(args[0])
			inc := increment
			if len(args) == 2 {
				// vault 0.x took the increment as a second argument.
				d, err := parseDuration(args[1])
				if err != nil {
					return c.usageError("Invalid increment: %s", err)
				}
				inc = d
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			secret, err := client.Sys().RenewWithContext(c.s.ctx, id, int(inc/time.Second))
			if err != nil {
				return c.apiFailed(err, "Error renewing %s", id)
			}
			return c.printer().secret(secret)
		},
	}
}

func newLeaseRevokeCommand(s *session) *command {
	var force, prefix, sync bool
	return &command{
		s:        s,
		name:     "lease revoke",
		synopsis: "Revokes leases and secrets",
		outputs:  withFormat,
		usage: `
Usage: tresor lease revoke [options] ID

  Revokes a secret by its lease ID, or with -prefix every secret whose
  lease ID starts with the argument. Revocation is queued and retried in
  the background unless -sync is given.

      $ tresor lease revoke database/creds/readonly/2f6a614c-4aa2-7b19
      $ tresor lease revoke -prefix database/creds

  -force removes the leases even when the secrets engine fails to revoke
  the secrets, for when they were already deleted by hand. It leaves the
  engine's state unchecked, so use it for recovery only; it needs -prefix:

      $ tresor lease revoke -force -prefix database/creds/readonly
`,
		flags: func(g *flagGroup) {
			g.boolVar(&force, "force", false,
				"Delete the leases even if the secrets engine cannot revoke the "+
					"secrets. Requires -prefix.", "f")
			g.boolVar(&prefix, "prefix", false,
				"Treat the ID as a prefix and revoke every lease under it.")
			g.boolVar(&sync, "sync", false,
				"Wait for the revocation to finish instead of queuing it.")
		},
		run: func(c *command, args []string) int {
			if force && !prefix {
				return c.usageError("Specifying -force requires also specifying -prefix")
			}
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			id := strings.TrimSpace(args[0])
			opts := &api.RevokeOptions{LeaseID: id, Force: force, Prefix: prefix, Sync: sync}
			if err := client.Sys().RevokeWithOptionsWithContext(c.s.ctx, opts); err != nil {
				switch {
				case force:
					return c.apiFailed(err, "Error force revoking leases with prefix %s", id)
				case prefix:
					return c.apiFailed(err, "Error revoking leases with prefix %s", id)
				}
				return c.apiFailed(err, "Error revoking lease %s", id)
			}
			switch {
			case force:
				fmt.Fprintln(c.s.stderr, "Warning! Force-removing leases can leave the "+
					"server out of sync with the secrets engines!")
				fmt.Fprintf(c.s.stdout, "Success! Force revoked any leases with prefix: %s\n", id)
			case prefix:
				fmt.Fprintf(c.s.stdout, "Success! Revoked any leases with prefix: %s\n", id)
			default:
				fmt.Fprintf(c.s.stdout, "Success! Revoked lease: %s\n", id)
			}
			return exitOK
		},
	}
}

func newLeaseLookupCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "lease lookup",
		synopsis: "Lookup lease information by lease id",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor lease lookup [options] ID

  Shows a lease: when it was issued, when it was last renewed, when it
  expires, and whether it can be renewed.

      $ tresor lease lookup database/creds/readonly/2f6a614c-4aa2-7b19
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			id := strings.TrimSpace(args[0])
			secret, err := client.Sys().LookupWithContext(c.s.ctx, id)
			if err != nil {
				return c.apiFailed(err, "Error looking up lease id %s", id)
			}
			if secret == nil {
				c.s.errorf("Error looking up lease id %s: no lease information returned", id)
				return exitRemote
			}
			return c.printer().secret(secret)
		},
	}
}

func newLeaseListCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "lease list",
		synopsis: "List lease IDs under a prefix",
		outputs:  withFormat,
		usage: `
Usage: tresor lease list [options] PREFIX

  Lists the lease IDs one level below PREFIX. Entries ending in "/" are
  prefixes that can be listed in turn. This is the same as

      $ tresor list sys/leases/lookup/PREFIX

      $ tresor lease list database/creds/readonly/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			prefix := sanitizePath(args[0])
			// The client drops a trailing "/"; the server lists a prefix as a
			// folder either way.
			path := "sys/leases/lookup/" + prefix
			secret, err := client.Logical().ListWithContext(c.s.ctx, path)
			if err != nil {
				return c.apiFailed(err, "Error listing leases under %s", prefix)
			}
			p := c.printer()
			if isWrapped(secret) {
				return p.secret(secret)
			}
			if _, ok := secretKeys(secret); !ok {
				if c.format != "table" {
					p.encode(map[string]any{})
				} else {
					c.s.errorf("No leases found under %s", prefix)
				}
				return exitRemote
			}
			return p.list(secret)
		},
	}
}
