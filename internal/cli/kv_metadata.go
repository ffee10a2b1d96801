package cli

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/hashicorp/vault/api"
)

// This file holds kv metadata: a KV version 2 secret's settings (max
// versions, check-and-set, custom metadata) and its version history.

func newKVMetadataCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "kv metadata",
		synopsis: "Interact with Vault's Key-Value storage metadata",
		outputs:  noHTTP,
		usage: `
Usage: tresor kv metadata <subcommand> [options] [args]

  Reads and changes the metadata of KV version 2 secrets: how many
  versions are kept, whether writes need check-and-set, custom key/value
  metadata, and the state of every version.

      $ tresor kv metadata get secret/app
      $ tresor kv metadata put -max-versions=5 -custom-metadata=owner=ops secret/app

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

func newKVMetadataGetCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv metadata get",
		synopsis: "Retrieves key metadata from the KV store",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor kv metadata get [options] KEY

  Shows a secret's metadata and, below it, each version's creation,
  deletion and destruction state.

      $ tresor kv metadata get secret/app
`,
		flags: func(g *flagGroup) { f.mountFlag(g) },
		run: func(c *command, args []string) int {
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("Metadata %s", errNotKVv2)
				return exitLocal
			}
			p := t.apiPath("metadata")
			secret, err := client.Logical().ReadWithContext(c.s.ctx, p)
			if err != nil {
				return c.apiFailed(err, "Error reading %s", p)
			}
			if secret == nil {
				c.s.errorf("No value found at %s", p)
				return exitRemote
			}
			pr := c.printer()
			if c.field != "" || c.format != "table" || isWrapped(secret) {
				return pr.secret(secret)
			}
			versions, _ := secret.Data["versions"].(map[string]any)
			meta := make(map[string]any, len(secret.Data))
			for k, v := range secret.Data {
				if k != "versions" {
					meta[k] = v
				}
			}
			pr.warnings(secret)
			printPathHeader(c.s.stdout, "Metadata Path", p)
			printSection(pr, "Metadata", meta)
			for _, n := range versionNumbers(versions) {
				v, _ := versions[strconv.Itoa(n)].(map[string]any)
				fmt.Fprintln(c.s.stdout)
				printSection(pr, fmt.Sprintf("Version %d", n), v)
			}
			return exitOK
		},
	}
}

// versionNumbers returns the numeric keys of a versions map in ascending
// order.
func versionNumbers(versions map[string]any) []int {
	out := make([]int, 0, len(versions))
	for k := range versions {
		if n, err := strconv.Atoi(k); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// kvMetadataFlags are the settings kv metadata put and patch change.
type kvMetadataFlags struct {
	kvFlags
	maxVersions    int
	casRequired    string // "", "true" or "false": unset is not sent
	deleteAfter    string
	customMetadata map[string]string
}

func (f *kvMetadataFlags) declare(g *flagGroup) {
	f.mountFlag(g)
	g.intVar(&f.maxVersions, "max-versions", -1,
		"Number of versions to keep; 0 uses the mount's setting. Unset keeps the current value.")
	g.stringVar(&f.casRequired, "cas-required", "", "bool",
		"If true, every write to the key must use check-and-set (-cas).")
	g.stringVar(&f.deleteAfter, "delete-version-after", "", "duration",
		`Delete versions this long after they are written ("30m", "48h"); "0s" disables.`)
	g.mapVar(&f.customMetadata, "custom-metadata", "key=value",
		"A custom metadata entry; repeat the flag for more.")
}

// body is the request body: only the settings that were given.
func (f *kvMetadataFlags) body() (map[string]any, error) {
	body := map[string]any{}
	if f.maxVersions >= 0 {
		body["max_versions"] = f.maxVersions
	}
	if f.casRequired != "" {
		b, err := strconv.ParseBool(f.casRequired)
		if err != nil {
			return nil, fmt.Errorf("invalid -cas-required %q: %w", f.casRequired, err)
		}
		body["cas_required"] = b
	}
	if f.deleteAfter != "" {
		body["delete_version_after"] = f.deleteAfter
	}
	if f.customMetadata != nil {
		body["custom_metadata"] = f.customMetadata
	}
	return body, nil
}

// newKVMetadataWriteCommand builds kv metadata put (a POST) and patch (a
// JSON merge patch that leaves unnamed settings alone).
func newKVMetadataWriteCommand(s *session, verb, synopsis, usage string) *command {
	var f kvMetadataFlags
	return &command{
		s:        s,
		name:     "kv metadata " + verb,
		synopsis: synopsis,
		outputs:  withFormat,
		usage:    usage,
		flags:    f.declare,
		run: func(c *command, args []string) int {
			body, err := f.body()
			if err != nil {
				return c.usageError("%s", err)
			}
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("Metadata %s", errNotKVv2)
				return exitLocal
			}
			p := t.apiPath("metadata")
			var secret *api.Secret
			if verb == "patch" {
				secret, err = client.Logical().JSONMergePatch(c.s.ctx, p, body)
			} else {
				secret, err = client.Logical().WriteWithContext(c.s.ctx, p, body)
			}
			if err != nil {
				return c.apiFailed(err, "Error writing data to %s", p)
			}
			if secret != nil {
				return c.printer().secret(secret)
			}
			if c.format == "table" {
				fmt.Fprintf(c.s.stdout, "Success! Data written to: %s\n", p)
			}
			return exitOK
		},
	}
}

func newKVMetadataPutCommand(s *session) *command {
	return newKVMetadataWriteCommand(s, "put", "Sets or updates key settings in the KV store", `
Usage: tresor kv metadata put [options] KEY

  Creates or replaces a secret's metadata settings. Settings not given keep
  their defaults; custom metadata given replaces all existing entries.

      $ tresor kv metadata put -max-versions=5 -cas-required=true secret/app
      $ tresor kv metadata put -custom-metadata=owner=ops secret/app
`)
}

func newKVMetadataPatchCommand(s *session) *command {
	return newKVMetadataWriteCommand(s, "patch", "Patches key settings in the KV store", `
Usage: tresor kv metadata patch [options] KEY

  Changes only the metadata settings given; custom metadata entries are
  merged into the existing ones.

      $ tresor kv metadata patch -custom-metadata=team=web secret/app
`)
}

func newKVMetadataDeleteCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv metadata delete",
		synopsis: "Deletes all versions and metadata for a key in the KV store",
		outputs:  withFormat,
		usage: `
Usage: tresor kv metadata delete [options] PATH

  Deletes a secret entirely: its metadata and every version.

      $ tresor kv metadata delete secret/app
`,
		flags: func(g *flagGroup) { f.mountFlag(g) },
		run: func(c *command, args []string) int {
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("Metadata %s", errNotKVv2)
				return exitLocal
			}
			p := t.apiPath("metadata")
			if _, err := client.Logical().DeleteWithContext(c.s.ctx, p); err != nil {
				return c.apiFailed(err, "Error deleting %s", p)
			}
			if c.format == "table" {
				fmt.Fprintf(c.s.stdout, "Success! Data deleted (if it existed) at: %s\n", p)
			}
			return exitOK
		},
	}
}
