package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"
)

// This file holds the generic path commands: read, write, delete and list
// work on any API path, the way the HTTP API itself does.

func newReadCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "read",
		synopsis: "Read data and retrieves secrets",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor read [options] PATH [KEY=VALUE ...]

  Reads data from the server at PATH: a secret, a configuration, a token's
  properties, whatever the path serves. KEY=VALUE pairs are sent as query
  parameters.

  Read a secret:

      $ tresor read secret/my-secret

  Print only one field, ready for a script:

      $ tresor read -field=password secret/my-secret

  -format=json prints the whole response envelope; -format=raw prints the
  response body exactly as the server sent it.
`,
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, -1) {
				return exitLocal
			}
			path := sanitizePath(args[0])
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse K=V data: %s", err)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if c.format == "raw" {
				return c.readRaw(client, path, stringLists(data))
			}
			secret, err := client.Logical().ReadWithDataWithContext(c.s.ctx, path, stringLists(data))
			if err != nil {
				return c.apiFailed(err, "Error reading %s", path)
			}
			if secret == nil {
				c.s.errorf("No value found at %s", path)
				c.kvV2Hint(client, path, "get", nil)
				return exitRemote
			}
			return c.printer().secret(secret)
		},
	}
}

// readRaw prints the response body untouched (-format=raw).
func (c *command) readRaw(client *api.Client, path string, data map[string][]string) int {
	resp, err := client.Logical().ReadRawWithDataWithContext(c.s.ctx, path, data)
	if err != nil {
		return c.apiFailed(err, "Error reading %s", path)
	}
	if resp == nil || resp.Body == nil {
		c.s.errorf("No value found at %s", path)
		return exitRemote
	}
	defer resp.Body.Close()
	if _, err := io.Copy(c.s.stdout, resp.Body); err != nil {
		return c.apiFailed(err, "Error reading %s", path)
	}
	fmt.Fprintln(c.s.stdout)
	return exitOK
}

func newWriteCommand(s *session) *command {
	var force bool
	return &command{
		s:        s,
		name:     "write",
		synopsis: "Write data, configuration, and secrets",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor write [options] PATH [DATA K=V...]

  Writes data to the server at PATH. What writing means depends on the
  path: store a secret, change configuration, create a token...

  Data is given as KEY=VALUE pairs. A value "@file" is read from the file,
  "-" from stdin, and "\@text" is the literal "@text". A lone "-" reads a
  JSON object from stdin, a lone "@file" one from a file.

      $ tresor write secret/my-secret foo=bar password=@pw.txt
      $ echo '{"foo":"bar"}' | tresor write secret/my-secret -

  Some endpoints need no data at all; use -force to write nothing:

      $ tresor write -force sys/rotate
`,
		flags: func(g *flagGroup) {
			g.boolVar(&force, "force", false,
				"Allow the write to proceed without any data, for endpoints that "+
					"take none.", "f")
		},
		run: func(c *command, args []string) int {
			switch {
			case !c.wantArgs(args, 1, -1):
				return exitLocal
			case len(args) == 1 && !force:
				return c.usageError("Must supply data or use -force")
			}
			path := sanitizePath(args[0])
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse K=V data: %s", err)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			secret, err := client.Logical().WriteWithContext(c.s.ctx, path, data)
			if err != nil {
				code := c.apiFailed(err, "Error writing data to %s", path)
				if secret != nil && code != exitOK {
					c.printer().secret(secret)
				}
				if notFound(err) {
					c.kvV2Hint(client, path, "put", args[1:])
				}
				return code
			}
			if secret == nil {
				if c.field == "" && c.format == "table" {
					fmt.Fprintf(c.s.stdout, "Success! Data written to: %s\n", path)
				}
				return exitOK
			}
			return c.printer().secret(secret)
		},
	}
}

func newDeleteCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "delete",
		synopsis: "Delete secrets and configuration",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor delete [options] PATH [KEY=VALUE ...]

  Deletes the data at PATH. Deleting is idempotent: it succeeds whether or
  not anything was there. KEY=VALUE pairs are sent as query parameters.

      $ tresor delete secret/my-secret
`,
		run: func(c *command, args []string) int {
			if len(args) < 1 {
				return c.usageError("Not enough arguments (expected at least 1, got %d)", len(args))
			}
			path := sanitizePath(args[0])
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse string list data: %s", err)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			secret, err := client.Logical().DeleteWithDataWithContext(c.s.ctx, path, stringLists(data))
			if err != nil {
				code := c.apiFailed(err, "Error deleting %s", path)
				if secret != nil && code != exitOK {
					c.printer().secret(secret)
				}
				if notFound(err) {
					c.kvV2Hint(client, path, "delete", nil)
				}
				return code
			}
			if secret == nil {
				if c.format == "table" {
					fmt.Fprintf(c.s.stdout, "Success! Data deleted (if it existed) at: %s\n", path)
				}
				return exitOK
			}
			return c.printer().secret(secret)
		},
	}
}

func newListCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "list",
		synopsis: "List data or secrets",
		outputs:  withFormat,
		usage: `
Usage: tresor list [options] PATH

  Lists the keys under PATH. Keys ending in "/" are folders that can be
  listed in turn. Only the names are shown, never the values.

      $ tresor list secret/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			path := sanitizePath(args[0])
			secret, err := client.Logical().ListWithContext(c.s.ctx, path)
			if err != nil {
				return c.apiFailed(err, "Error listing %s", path)
			}
			if secret == nil {
				defer c.kvV2Hint(client, path, "list", nil)
			}
			p := c.printer()
			// A wrapped response has no keys to show yet.
			if secret != nil && secret.WrapInfo != nil && secret.WrapInfo.TTL != 0 {
				return p.secret(secret)
			}
			_, hasKeys := secretKeys(secret)
			if c.format != "table" && !hasKeys {
				p.encode(map[string]any{})
				return exitRemote
			}
			switch {
			case secret == nil:
				c.s.errorf("No value found at %s", path)
				return exitRemote
			case secret.Data == nil:
				// Warnings or other information without data: show them.
				return p.secret(secret)
			case !hasKeys:
				c.s.errorf("No entries found at %s", path)
				return exitRemote
			}
			return p.list(secret)
		},
	}
}

// secretKeys extracts the "keys" of a LIST response.
func secretKeys(s *api.Secret) ([]any, bool) {
	if s == nil || s.Data == nil {
		return nil, false
	}
	keys, ok := s.Data["keys"].([]any)
	return keys, ok
}

// notFound reports whether err is the server's 404.
func notFound(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// kvV2APISegments are the first path segments of the KV version 2 API
// below its mount.
var kvV2APISegments = []string{"data", "metadata", "delete", "undelete", "destroy", "subkeys", "config"}

// kvV2Hint follows a 404 from a generic command on p. Tutorials written
// for Vault 0.x "write secret/foo", but a dev server's secret/ is KV
// version 2 today, whose API wants "secret/data/foo": when p is on such a
// mount and outside its API, print the kv command that does the job.
func (c *command) kvV2Hint(client *api.Client, p, verb string, args []string) {
	mount, version, err := c.kvMount(client, p)
	if err != nil || version != 2 || mount == "" {
		return
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p+"/", mount), "/")
	first, _, _ := strings.Cut(rel, "/")
	for _, seg := range kvV2APISegments {
		if first == seg {
			return
		}
	}
	cmd := []string{binaryName, "kv", verb, p}
	for _, a := range args {
		// Name the keys, never echo the values.
		if k, _, ok := strings.Cut(a, "="); ok {
			a = k + "=…"
		}
		cmd = append(cmd, a)
	}
	c.s.errorf("\n%s is a KV version 2 mount: its secrets are under %sdata/, which the kv commands add for you. Try:\n\n    %s",
		mount, mount, strings.Join(cmd, " "))
}
