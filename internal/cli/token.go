package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// This file holds the token command group: creating, inspecting, renewing
// and revoking tokens (auth/token/*), and asking what a token may do.

func newTokenCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "token",
		synopsis: "Interact with tokens",
		outputs:  noHTTP,
		usage: `
Usage: tresor token <subcommand> [options] [args]

  Creates and manages tokens.

      $ tresor token create -policy=web-app-policy -ttl=1h
      $ tresor token lookup
      $ tresor token capabilities s.XXXX secret/data/services/my-app
      $ tresor token revoke s.XXXX

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

// tokenCreateFlags are token create's options.
type tokenCreateFlags struct {
	id, displayName, ttl, explicitMaxTTL, period, typ, role string
	policies                                                []string
	metadata                                                map[string]string
	orphan, noDefaultPolicy, renewable                      bool
	useLimit                                                int
}

func (f *tokenCreateFlags) declare(g *flagGroup) {
	g.stringVar(&f.id, "id", "", "string",
		"Value for the token, instead of a generated one. Requires root or sudo.")
	g.stringVar(&f.displayName, "display-name", "", "string",
		"Name associated with the token, shown in audit logs.")
	g.stringVar(&f.ttl, "ttl", "", "duration",
		`Initial TTL of the token ("30m", "24h"). Defaults to the creator's TTL limits.`)
	g.stringVar(&f.explicitMaxTTL, "explicit-max-ttl", "", "duration",
		"Hard limit on the token's lifetime, beyond which it cannot be renewed.")
	g.stringVar(&f.period, "period", "", "duration",
		"Make the token periodic: each renewal resets its TTL to this period.")
	g.boolVar(&f.renewable, "renewable", true,
		"Allow the token to be renewed up to its maximum TTL.")
	g.boolVar(&f.orphan, "orphan", false,
		"Create the token without a parent, so revoking the creator does not revoke it.")
	g.boolVar(&f.noDefaultPolicy, "no-default-policy", false,
		`Do not attach the "default" policy.`)
	g.intVar(&f.useLimit, "use-limit", 0,
		"Number of uses after which the token is revoked; 0 is unlimited.")
	g.stringVar(&f.typ, "type", "service", "string",
		`Type of token: "service", "batch" or "default".`)
	g.stringVar(&f.role, "role", "", "string",
		"Create the token against this token role.")
	g.stringsVar(&f.policies, "policy", "string",
		"A policy for the token; repeat the flag for more. Defaults to the creator's policies.")
	g.mapVar(&f.metadata, "metadata", "key=value",
		"Metadata to attach to the token, shown in audit logs; repeat for more.")
}

func newTokenCreateCommand(s *session) *command {
	var f tokenCreateFlags
	return &command{
		s:        s,
		name:     "token create",
		synopsis: "Create a new token",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor token create [options]

  Creates a token, a child of the calling token unless -orphan is given.
  Without -policy it gets the creator's policies.

      $ tresor token create -policy=web-app-policy -ttl=1h
      $ tresor token create -field=token -period=24h -policy=agent
`,
		flags: f.declare,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			if f.typ == "" {
				f.typ = "service"
			}
			req := &api.TokenCreateRequest{
				ID:              f.id,
				Policies:        f.policies,
				Metadata:        f.metadata,
				TTL:             f.ttl,
				ExplicitMaxTTL:  f.explicitMaxTTL,
				Period:          f.period,
				NoParent:        f.orphan,
				NoDefaultPolicy: f.noDefaultPolicy,
				DisplayName:     f.displayName,
				NumUses:         f.useLimit,
				Renewable:       &f.renewable,
				Type:            f.typ,
			}
			var (
				secret *api.Secret
				err    error
			)
			switch {
			case f.role != "":
				secret, err = client.Auth().Token().CreateWithRoleWithContext(c.s.ctx, req, f.role)
			case f.orphan:
				secret, err = client.Auth().Token().CreateOrphanWithContext(c.s.ctx, req)
			default:
				secret, err = client.Auth().Token().CreateWithContext(c.s.ctx, req)
			}
			if err != nil {
				return c.apiFailed(err, "Error creating token")
			}
			return c.printer().secret(secret)
		},
	}
}

func newTokenLookupCommand(s *session) *command {
	var accessor bool
	return &command{
		s:        s,
		name:     "token lookup",
		synopsis: "Display information about a token",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor token lookup [options] [TOKEN | ACCESSOR]

  Shows a token's properties: policies, TTL, metadata... Without an
  argument it looks up the calling token.

      $ tresor token lookup
      $ tresor token lookup s.XXXX
      $ tresor token lookup -accessor 8609694a-cdbc-db9b-d345-e782dbb562ed
`,
		flags: func(g *flagGroup) {
			g.boolVar(&accessor, "accessor", false,
				"Treat the argument as an accessor instead of a token.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 1) {
				return exitLocal
			}
			if accessor && len(args) == 0 {
				return c.usageError("Expected an accessor to be passed in with -accessor")
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			var (
				secret *api.Secret
				err    error
			)
			switch {
			case accessor:
				secret, err = client.Auth().Token().LookupAccessorWithContext(c.s.ctx, args[0])
			case len(args) == 1:
				secret, err = client.Auth().Token().LookupWithContext(c.s.ctx, args[0])
			default:
				secret, err = client.Auth().Token().LookupSelfWithContext(c.s.ctx)
			}
			if err != nil {
				return c.apiFailed(err, "Error looking up token")
			}
			if secret == nil {
				c.s.errorf("Error looking up token: no token information returned")
				return exitRemote
			}
			return c.printer().secret(secret)
		},
	}
}

// parseIncrement reads a duration flag as vault does: "1h30m" or plain
// seconds ("3600").
func parseIncrement(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	return int(d.Seconds()), nil
}

func newTokenRenewCommand(s *session) *command {
	var increment string
	return &command{
		s:        s,
		name:     "token renew",
		synopsis: "Renew a token lease",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor token renew [options] [TOKEN]

  Extends a token's lease, up to its maximum TTL. Without an argument it
  renews the calling token.

      $ tresor token renew
      $ tresor token renew -increment=30m s.XXXX
`,
		flags: func(g *flagGroup) {
			g.stringVar(&increment, "increment", "", "duration",
				`Requested extension ("30m" or seconds); the server may grant less. `+
					`Unset asks for the token's default TTL.`, "i")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 1) {
				return exitLocal
			}
			inc, err := parseIncrement(increment)
			if err != nil {
				return c.usageError("Error parsing -increment: %s", err)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			var secret *api.Secret
			if len(args) == 1 {
				secret, err = client.Auth().Token().RenewWithContext(c.s.ctx, args[0], inc)
			} else {
				secret, err = client.Auth().Token().RenewSelfWithContext(c.s.ctx, inc)
			}
			if err != nil {
				return c.apiFailed(err, "Error renewing token")
			}
			return c.printer().secret(secret)
		},
	}
}

func newTokenRevokeCommand(s *session) *command {
	var (
		self, accessor bool
		mode           string
	)
	return &command{
		s:        s,
		name:     "token revoke",
		synopsis: "Revoke a token and its children",
		outputs:  withFormat,
		usage: `
Usage: tresor token revoke [options] [TOKEN | ACCESSOR]

  Revokes a token and, by default, all tokens created from it.

      $ tresor token revoke s.XXXX
      $ tresor token revoke -self
      $ tresor token revoke -accessor 8609694a-cdbc-db9b-d345-e782dbb562ed
      $ tresor token revoke -mode=orphan s.XXXX     # keep its children
      $ tresor token revoke -mode=path auth/userpass/  # every token from a path
`,
		flags: func(g *flagGroup) {
			g.boolVar(&self, "self", false, "Revoke the calling token.")
			g.boolVar(&accessor, "accessor", false,
				"Treat the argument as an accessor instead of a token.")
			g.stringVar(&mode, "mode", "", "string",
				`"orphan" revokes only the token, making its children orphans; "path" `+
					`revokes every token created under the argument as a path prefix.`)
		},
		run: func(c *command, args []string) int {
			switch {
			case self && accessor:
				return c.usageError("Cannot use -self with -accessor")
			case self && mode != "":
				return c.usageError("Cannot use -self with -mode")
			case accessor && mode == "orphan":
				return c.usageError("Cannot use -accessor with -mode=orphan")
			case accessor && mode == "path":
				return c.usageError("Cannot use -accessor with -mode=path")
			case mode != "" && mode != "orphan" && mode != "path":
				return c.usageError("Invalid mode: %s", mode)
			case self && len(args) > 0:
				return c.usageError("Too many arguments (expected 0, got %d)", len(args))
			case !self && !c.wantArgs(args, 1, 1):
				return exitLocal
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			tokens := client.Auth().Token()
			var err error
			switch {
			case self:
				err = tokens.RevokeSelfWithContext(c.s.ctx, "")
			case accessor:
				err = tokens.RevokeAccessorWithContext(c.s.ctx, args[0])
			case mode == "orphan":
				err = tokens.RevokeOrphanWithContext(c.s.ctx, args[0])
			case mode == "path":
				err = client.Sys().RevokePrefixWithContext(c.s.ctx, args[0])
			default:
				err = tokens.RevokeTreeWithContext(c.s.ctx, args[0])
			}
			if err != nil {
				return c.apiFailed(err, "Error revoking token")
			}
			fmt.Fprintln(c.s.stdout, "Success! Revoked token (if it existed)")
			return exitOK
		},
	}
}

func newTokenCapabilitiesCommand(s *session) *command {
	var accessor bool
	return &command{
		s:        s,
		name:     "token capabilities",
		synopsis: "Print capabilities of a token on a path",
		outputs:  withFormat,
		usage: `
Usage: tresor token capabilities [options] [TOKEN] PATH

  Prints what a token may do on PATH ("create, read", "deny", "root"...).
  Without TOKEN, the calling token's capabilities are shown.

      $ tresor token capabilities secret/data/foo
      $ tresor token capabilities s.XXXX secret/data/foo
`,
		flags: func(g *flagGroup) {
			g.boolVar(&accessor, "accessor", false,
				"Treat the first argument as an accessor instead of a token.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 2) {
				return exitLocal
			}
			if accessor && len(args) != 2 {
				return c.usageError("Expected an accessor and a path with -accessor")
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			var (
				caps []string
				err  error
			)
			switch {
			case accessor:
				caps, err = client.Sys().CapabilitiesAccessorWithContext(c.s.ctx, args[0], args[1])
			case len(args) == 2:
				caps, err = client.Sys().CapabilitiesWithContext(c.s.ctx, args[0], args[1])
			default:
				caps, err = client.Sys().CapabilitiesSelfWithContext(c.s.ctx, args[0])
			}
			if err != nil {
				return c.apiFailed(err, "Error listing capabilities")
			}
			if caps == nil {
				c.s.errorf("No capabilities found")
				return exitLocal
			}
			sort.Strings(caps)
			if c.format != "table" {
				return c.printer().encode(caps)
			}
			fmt.Fprintln(c.s.stdout, strings.Join(caps, ", "))
			return exitOK
		},
	}
}
