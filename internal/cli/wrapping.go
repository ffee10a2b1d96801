package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
)

// This file holds response wrapping: the -wrap-ttl flag every server
// command shares, and the unwrap command that opens a wrapping token.
//
//	tresor write -wrap-ttl=60s -f auth/approle/role/web/secret-id
//	tresor unwrap s.WRAPPING_TOKEN
//
// With -wrap-ttl the server keeps the real response in the cubbyhole of a
// single-use token and answers with that token only (wrap_info), so the
// secret can travel through untrusted hands.

// errHeaderNotAllowed is returned by client for a -header whose name
// starts with X-Vault-: those headers carry the token, wrapping and other
// protocol settings the CLI manages itself.
var errHeaderNotAllowed = errors.New("headers starting with X-Vault- are reserved")

// applyRequestOptions sets what -wrap-ttl, -policy-override and -header ask
// for on every request the client makes.
func (c *command) applyRequestOptions(client *api.Client) error {
	if c.wrapTTLEnvErr != nil && c.wrapTTL == 0 {
		return c.wrapTTLEnvErr
	}
	if c.wrapTTL > 0 {
		ttl := c.wrapTTL.String()
		client.SetWrappingLookupFunc(func(operation, path string) string { return ttl })
	}
	client.SetPolicyOverride(c.policyOverride)
	for _, k := range sortedKeys(c.headers) {
		if strings.HasPrefix(strings.ToLower(k), "x-vault-") {
			return fmt.Errorf("header %q: %w", k, errHeaderNotAllowed)
		}
		client.AddHeader(k, c.headers[k])
	}
	return nil
}

// withoutWrapping turns response wrapping off for a request the user did
// not ask for (a preflight lookup) and returns the function restoring it.
func withoutWrapping(client *api.Client) (restore func()) {
	saved := client.CurrentWrappingLookupFunc()
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	return func() { client.SetWrappingLookupFunc(saved) }
}

// isWrapped reports whether s is a wrapping token rather than the answer
// itself; commands with their own output print such a response as is.
func isWrapped(s *api.Secret) bool {
	return s != nil && s.WrapInfo != nil && s.WrapInfo.Token != ""
}

func newUnwrapCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "unwrap",
		synopsis: "Unwrap a wrapped secret",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor unwrap [options] [TOKEN]

  Opens a wrapping token and prints the response it holds, as "read" would
  have printed it. A wrapping token works once: unwrapping it again fails.

  Without TOKEN the current token (VAULT_TOKEN or the token file) is taken
  as the wrapping token:

      $ VAULT_TOKEN=s.WRAPPING tresor unwrap

  Unwrap a given token, printing only one field:

      $ tresor unwrap -field=secret_id s.WRAPPING
`,
		run: func(c *command, args []string) int {
			if len(args) > 1 {
				return c.usageError("Too many arguments (expected 0-1, got %d)", len(args))
			}
			token := ""
			if len(args) == 1 {
				token = strings.TrimSpace(args[0])
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			secret, err := client.Logical().UnwrapWithContext(c.s.ctx, token)
			if err != nil {
				return c.apiFailed(err, "Error unwrapping")
			}
			if secret == nil {
				if c.format == "table" && c.field == "" {
					fmt.Fprintln(c.s.stdout, "Successfully unwrapped. There was no data in the wrapped secret.")
				}
				return exitOK
			}
			p := c.printer()
			// A wrapped LIST answer is printed as a list.
			if _, ok := secretKeys(secret); ok && c.field == "" && len(secret.Data) == 1 {
				return p.list(secret)
			}
			return p.secret(secret)
		},
	}
}
