package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"
)

// This file holds the auth command group (enabling, tuning and listing
// auth methods in sys/auth) and the login methods other than token.

// newAuthCommand is the auth group. Given arguments instead of a
// subcommand it is vault 0.x's "auth": a login ("auth TOKEN",
// "auth -method=userpass username=...").
func newAuthCommand(s *session) *command {
	c := newLoginCommand(s)
	login := c.run
	c.name = "auth"
	c.synopsis = "Interact with auth methods"
	c.hideFlags = true
	c.usage = `
Usage: tresor auth <subcommand> [options] [args]

  Manages auth methods: the ways users and machines log in and receive a
  token. To log in, use "tresor login".

      $ tresor auth enable userpass
      $ tresor auth list -detailed
      $ tresor auth tune -max-lease-ttl=24h userpass/
      $ tresor auth disable userpass/

  Please see the individual subcommand help for detailed usage information.
`
	c.run = func(c *command, args []string) int {
		if len(args) == 0 {
			return runResultHelp
		}
		deprecated(c.s, "auth", "login")
		return login(c, args)
	}
	return c
}

// deprecated prints the hint a legacy verb gives before doing its job.
func deprecated(s *session, old, replacement string) {
	fmt.Fprintf(s.stderr, "`vault %s` is deprecated; use `%s %s`\n", old, binaryName, replacement)
}

func newAuthEnableCommand(s *session) *command {
	var f mountFlags
	return &command{
		s:        s,
		name:     "auth enable",
		synopsis: "Enables a new auth method",
		outputs:  withFormat,
		usage: `
Usage: tresor auth enable [options] TYPE

  Enables an auth method of TYPE at -path, which defaults to the type's
  name. Logins then go to auth/<path>/login.

      $ tresor auth enable userpass
      $ tresor auth enable -path=apps approle
`,
		flags: func(g *flagGroup) {
			g.stringVar(&f.path, "path", "", "string",
				"Place where the auth method is accessible; defaults to TYPE.")
			g.stringVar(&f.description, "description", "", "string",
				"Human-friendly description of the auth method.")
			f.ttlFlags(g, "auth method")
			g.mapVar(&f.options, "options", "key=value",
				"An option for the auth method; repeat the flag for more.")
			g.boolVar(&f.local, "local", false,
				"Mark the auth method as local to this cluster: not replicated.")
			g.boolVar(&f.sealWrap, "seal-wrap", false,
				"Seal-wrap the auth method's critical values.")
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
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			err := client.Sys().EnableAuthWithOptionsWithContext(c.s.ctx, p, &api.EnableAuthOptions{
				Type:        typ,
				Description: f.description,
				Local:       f.local,
				SealWrap:    f.sealWrap,
				Options:     f.options,
				Config: api.MountConfigInput{
					DefaultLeaseTTL: f.defaultTTL,
					MaxLeaseTTL:     f.maxTTL,
				},
			})
			if err != nil {
				return c.apiFailed(err, "Error enabling %s auth", typ)
			}
			fmt.Fprintf(c.s.stdout, "Success! Enabled %s auth method at: %s\n", typ, p)
			return exitOK
		},
	}
}

func newAuthDisableCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "auth disable",
		synopsis: "Disables an auth method",
		outputs:  withFormat,
		usage: `
Usage: tresor auth disable [options] PATH

  Disables the auth method at PATH. Tokens it issued are revoked.

      $ tresor auth disable userpass/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			p := mountPath(args[0])
			if err := client.Sys().DisableAuthWithContext(c.s.ctx, p); err != nil {
				return c.apiFailed(err, "Error disabling auth method at %s", p)
			}
			fmt.Fprintf(c.s.stdout, "Success! Disabled the auth method (if it existed) at: %s\n", p)
			return exitOK
		},
	}
}

func newAuthListCommand(s *session) *command {
	var detailed bool
	return &command{
		s:        s,
		name:     "auth list",
		synopsis: "Lists enabled auth methods",
		outputs:  withFormat,
		usage: `
Usage: tresor auth list [options]

  Lists the enabled auth methods; -detailed adds TTLs, options and
  replication settings.

      $ tresor auth list
`,
		flags: func(g *flagGroup) {
			g.boolVar(&detailed, "detailed", false,
				"Print TTLs, options, replication and other settings of each method.")
		},
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			auths, err := client.Sys().ListAuthWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error listing enabled authentications")
			}
			if c.format != "table" {
				return c.printer().encode(auths)
			}
			fmt.Fprintln(c.s.stdout, table(mountRows(auths, detailed)))
			return exitOK
		},
	}
}

func newAuthTuneCommand(s *session) *command {
	var f mountFlags
	return &command{
		s:        s,
		name:     "auth tune",
		synopsis: "Tunes an auth method configuration",
		outputs:  withFormat,
		usage: `
Usage: tresor auth tune [options] PATH

  Changes the settings of the auth method at PATH; only the settings given
  are changed.

      $ tresor auth tune -default-lease-ttl=1h -max-lease-ttl=24h userpass/
`,
		flags: func(g *flagGroup) {
			g.stringVar(&f.description, "description", "", "string",
				"New description of the auth method.")
			f.ttlFlags(g, "auth method")
			g.mapVar(&f.options, "options", "key=value",
				"An option for the auth method; repeat the flag for more.")
		},
		run: func(c *command, args []string) int {
			return c.tuneMount(args, f, "sys/auth/", "auth method")
		},
	}
}

// authLoginPath is the login endpoint of the method mounted at mount, with
// optional suffix segments (the username for userpass).
func authLoginPath(mount string, suffix ...string) string {
	p := "auth/" + sanitizePath(mount) + "/login"
	for _, s := range suffix {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// errMissingParam is returned by a login method missing a required
// KEY=VALUE argument.
var errMissingParam = errors.New("missing required parameter")

// loginWithUserpass logs in with username=... and password=...; a missing
// password is asked for without echo.
func loginWithUserpass(ctx context.Context, s *session, client *api.Client, config map[string]string) (*api.Secret, error) {
	user := config["username"]
	if user == "" {
		return nil, fmt.Errorf("'username' %w", errMissingParam)
	}
	pw, ok := config["password"]
	if !ok {
		var err error
		if pw, err = s.readSecret(s.stderr, "Password (will be hidden): "); err != nil {
			return nil, fmt.Errorf("asking for the password: %w", err)
		}
	}
	secret, err := client.Logical().WriteWithContext(ctx, authLoginPath(config["mount"], user), map[string]any{"password": pw})
	if err != nil {
		return nil, fmt.Errorf("logging in with userpass: %w", err)
	}
	return secret, nil
}

// loginWithAppRole logs in with role_id=... and, unless the role does not
// require one, secret_id=....
func loginWithAppRole(ctx context.Context, _ *session, client *api.Client, config map[string]string) (*api.Secret, error) {
	roleID := strings.TrimSpace(config["role_id"])
	if roleID == "" {
		return nil, fmt.Errorf("'role_id' %w", errMissingParam)
	}
	body := map[string]any{"role_id": roleID}
	if id, ok := config["secret_id"]; ok {
		body["secret_id"] = strings.TrimSpace(id)
	}
	secret, err := client.Logical().WriteWithContext(ctx, authLoginPath(config["mount"]), body)
	if err != nil {
		return nil, fmt.Errorf("logging in with approle: %w", err)
	}
	return secret, nil
}

// loginWithCert logs in with the TLS client certificate given by
// -client-cert/-client-key; name=... picks a certificate role.
func loginWithCert(ctx context.Context, _ *session, client *api.Client, config map[string]string) (*api.Secret, error) {
	body := map[string]any{}
	if name := config["name"]; name != "" {
		body["name"] = name
	}
	secret, err := client.Logical().WriteWithContext(ctx, authLoginPath(config["mount"]), body)
	if err != nil {
		return nil, fmt.Errorf("logging in with cert: %w", err)
	}
	return secret, nil
}
