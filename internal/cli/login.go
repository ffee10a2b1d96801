package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

// loginMethod authenticates with one auth method and returns the auth
// response. config holds the KEY=VALUE arguments plus "mount".
type loginMethod func(ctx context.Context, s *session, client *api.Client, config map[string]string) (*api.Secret, error)

// loginMethods are the -method values login understands (the non-token
// ones are in auth.go).
var loginMethods = map[string]loginMethod{
	"token":    loginWithToken,
	"userpass": loginWithUserpass,
	"approle":  loginWithAppRole,
	"cert":     loginWithCert,
}

func newLoginCommand(s *session) *command {
	var (
		method, mount             string
		noStore, noPrint, tokOnly bool
	)
	return &command{
		s:        s,
		name:     "login",
		synopsis: "Authenticate locally",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor login [options] [AUTH K=V...]

  Authenticates to the server and stores the resulting token in
  ~/.vault-token, where later commands find it when VAULT_TOKEN is unset.

  Log in with a token (asked for without echo if omitted; "-" reads it
  from stdin):

      $ tresor login s.3jnbMAKl1i4YxKaPnGnMCkRv

  Print the token instead of storing it:

      $ tresor login -token-only s.3jnbMAKl1i4YxKaPnGnMCkRv

  Log in with an auth method (the password is asked for if omitted):

      $ tresor login -method=userpass username=alice
      $ tresor login -method=approle role_id=... secret_id=...
      $ tresor login -method=cert -client-cert=me.pem -client-key=me-key.pem
`,
		flags: func(g *flagGroup) {
			g.stringVar(&method, "method", "token", "string",
				`Type of authentication to use: "token", "userpass", "approle" or "cert".`)
			g.stringVar(&mount, "path", "", "string",
				"Mount path of the auth method. The default is the method's name.")
			g.boolVar(&noStore, "no-store", false,
				"Do not store the token in the token file. The token is still "+
					"printed.")
			g.boolVar(&noPrint, "no-print", false,
				"Do not print the token. It is still stored. This cannot be used "+
					"with -no-store.")
			g.boolVar(&tokOnly, "token-only", false,
				"Print only the token, unformatted and not stored. This implies "+
					"-field=token and -no-store.")
		},
		run: func(c *command, args []string) int {
			if tokOnly {
				noStore = true
				c.field = "token"
			}
			if noStore && noPrint {
				return c.usageError("-no-store and -no-print cannot be used together")
			}
			method = sanitizePath(method)
			login, ok := loginMethods[method]
			if !ok {
				return c.usageError("Unknown auth method: %s", method)
			}
			if mount == "" {
				mount = method + "/"
			}
			// A bare token is shorthand for token=<token>.
			if method == "token" && len(args) > 0 && !strings.Contains(args[0], "=") {
				args = append([]string{"token=" + args[0]}, args[1:]...)
			}
			data, err := c.s.parseKV(args)
			if err != nil {
				return c.usageError("Error parsing configuration: %s", err)
			}
			config := make(map[string]string, len(data)+1)
			for k, v := range data {
				config[k] = fmt.Sprint(v)
			}
			if config["mount"] == "" {
				config["mount"] = mount
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if method != "token" {
				client.ClearToken() // a stored token must not leak into another login
			}
			secret, err := login(c.s.ctx, c.s, client, config)
			if err != nil {
				return c.apiFailed(err, "Error authenticating")
			}
			if isWrapped(secret) {
				// The token is inside the wrapping token: nothing to store.
				return c.printer().secret(secret)
			}
			if secret == nil || secret.Auth == nil {
				c.s.errorf("The server returned no authentication information")
				return exitRemote
			}

			if !noStore {
				if err := c.tokenFile().store(secret.Auth.ClientToken); err != nil {
					c.s.errorf("Error storing token: %s", err)
					c.s.errorf("%s\n", wrap("Authentication succeeded but the token "+
						"was not stored. It is shown below.", 0))
					c.printer().secret(secret)
					return exitRemote
				}
				if c.s.getenv("TOKEN") != "" {
					fmt.Fprintf(c.s.stderr, "%s\n\n", wrap("WARNING! VAULT_TOKEN (or "+
						"TRESOR_TOKEN) is set and takes precedence over the stored "+
						"token; unset it to use the token you just logged in with.", 0))
				}
			} else if !tokOnly {
				fmt.Fprintf(c.s.stderr, "%s\n\n", wrap("The token was not stored. "+
					"Set VAULT_TOKEN to it, or pass it with each request.", 0))
			}
			if noPrint {
				return exitOK
			}
			if c.field == "" && c.format == "table" {
				fmt.Fprintf(c.s.stdout, "%s\n\n", wrap("Success! You are now "+
					"authenticated. The token below is stored in the token file and "+
					"will be used by later commands; there is no need to log in again.", 0))
			}
			return c.printer().secret(secret)
		},
	}
}

// loginWithToken checks a token by looking itself up and returns it as an
// auth response. config: token (asked for if missing, "-" reads stdin),
// lookup=false to skip the check.
func loginWithToken(ctx context.Context, s *session, client *api.Client, config map[string]string) (*api.Secret, error) {
	lookup := true
	if v, ok := config["lookup"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("parsing lookup=%q: %w", v, err)
		}
		lookup = b
	}
	token, ok := config["token"]
	if !ok {
		var err error
		if token, err = s.readSecret(s.stderr, "Token (will be hidden): "); err != nil {
			return nil, fmt.Errorf("asking for the token (pass \"-\" to read it from stdin): %w", err)
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("a token must be given; see tresor login -h")
	}
	if !lookup {
		return &api.Secret{Auth: &api.SecretAuth{ClientToken: token}}, nil
	}

	client.SetToken(token)
	self, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("error looking up token: %w", err)
	}
	if self == nil {
		return nil, errors.New("empty response from lookup-self")
	}
	auth := &api.SecretAuth{ClientToken: token}
	if auth.Accessor, err = self.TokenAccessor(); err != nil {
		return nil, fmt.Errorf("reading token accessor: %w", err)
	}
	if auth.TokenPolicies, err = self.TokenPolicies(); err != nil {
		return nil, fmt.Errorf("reading token policies: %w", err)
	}
	auth.IdentityPolicies = stringList(self.Data["identity_policies"])
	auth.Policies = append(append([]string(nil), auth.TokenPolicies...), auth.IdentityPolicies...)
	if auth.Metadata, err = self.TokenMetadata(); err != nil {
		return nil, fmt.Errorf("reading token metadata: %w", err)
	}
	ttl, err := self.TokenTTL()
	if err != nil {
		return nil, fmt.Errorf("reading token TTL: %w", err)
	}
	auth.LeaseDuration = int(ttl.Seconds())
	if auth.Renewable, err = self.TokenIsRenewable(); err != nil {
		return nil, fmt.Errorf("reading token renewability: %w", err)
	}
	return &api.Secret{Auth: auth}, nil
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
