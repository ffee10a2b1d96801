package cli

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

// This file holds the kv command group: version-aware access to the
// key/value secrets engine. A path is either "mount/secret" or, with
// -mount=mount, just "secret"; the mount and its KV version are learned
// from sys/internal/ui/mounts, and for version 2 the API prefix (data/,
// metadata/, delete/...) is inserted after the mount, so
//
//	tresor kv get secret/app   →   GET secret/data/app
//	tresor kv list secret/     →   LIST secret/metadata/

// errNotKVv2 is returned by kvTarget.require when a command needs KV
// version 2 and the mount is version 1.
var errNotKVv2 = errors.New("not supported on KV Version 1")

// kvTarget is a secret path resolved against its mount.
type kvTarget struct {
	mount string // "secret/", with trailing slash; empty if unknown (v1)
	rel   string // path below the mount: "services/my-app"
	given string // the path as given (v1 paths are used as is)
	v2    bool
}

// apiPath is the request path for prefix ("data", "metadata", ...). KV v1
// has no prefixes: the given path is the API path.
func (t kvTarget) apiPath(prefix string) string {
	if !t.v2 {
		return t.given
	}
	return path.Join(t.mount, prefix, t.rel)
}

// resolveKV finds the mount of arg (or of -mount, when mountFlag is set)
// and its KV version.
func (c *command) resolveKV(client *api.Client, mountFlag, arg string) (kvTarget, error) {
	arg = strings.TrimPrefix(strings.TrimSpace(arg), "/")
	lookup := arg
	if mountFlag != "" {
		lookup = sanitizePath(mountFlag)
	}
	mount, version, err := c.kvMount(client, lookup)
	if err != nil {
		return kvTarget{}, err
	}
	return newKVTarget(mount, version == 2, mountFlag, arg), nil
}

// newKVTarget splits arg against the mount the server reported (empty if
// unknown). With -mount, arg is already relative to the mount.
func newKVTarget(mount string, v2 bool, mountFlag, arg string) kvTarget {
	t := kvTarget{mount: mount, v2: v2, given: arg}
	switch {
	case mountFlag != "":
		if t.mount == "" {
			t.mount = sanitizePath(mountFlag) + "/"
		}
		t.rel = arg
		t.given = path.Join(t.mount, arg)
	case t.mount != "":
		if rel, ok := strings.CutPrefix(arg, t.mount); ok {
			t.rel = rel
		} else {
			// "secret" names the mount itself.
			t.rel = strings.TrimPrefix(arg, strings.TrimSuffix(t.mount, "/"))
		}
	}
	return t
}

// kvMount asks sys/internal/ui/mounts which mount serves p and its KV
// version. A server without that endpoint (404) is taken as KV v1, as
// vault does.
func (c *command) kvMount(client *api.Client, p string) (string, int, error) {
	// The preflight is not the request the user asked to see as curl.
	curl := client.OutputCurlString()
	client.SetOutputCurlString(false)
	defer client.SetOutputCurlString(curl)
	// Nor is it a response the user asked to have wrapped.
	defer withoutWrapping(client)()

	req := client.NewRequest("GET", "/v1/sys/internal/ui/mounts/"+p)
	resp, err := client.RawRequestWithContext(c.s.ctx, req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == 404 {
			return "", 1, nil
		}
		return "", 0, err
	}
	secret, err := api.ParseSecret(resp.Body)
	if err != nil {
		return "", 0, fmt.Errorf("parsing mount information: %w", err)
	}
	if secret == nil {
		return "", 0, errors.New("nil response from pre-flight request")
	}
	mount, _ := secret.Data["path"].(string)
	if mount != "" && !strings.HasSuffix(mount, "/") {
		mount += "/"
	}
	version := 1
	if opts, ok := secret.Data["options"].(map[string]any); ok && fmt.Sprint(opts["version"]) == "2" {
		version = 2
	}
	return mount, version, nil
}

// kvFlags are the flags the kv commands share.
type kvFlags struct {
	mount    string
	version  int
	versions []string
	cas      int
	method   string
}

func (f *kvFlags) mountFlag(g *flagGroup) {
	g.stringVar(&f.mount, "mount", "", "string",
		`Mount path of the KV engine. With it, the argument is the secret's path `+
			`below the mount ("-mount=secret foo" instead of "secret/foo").`)
}

func (f *kvFlags) versionsFlag(g *flagGroup, what string) {
	g.stringsVar(&f.versions, "versions", "int,int,...",
		"The versions to "+what+", as a comma-separated list or by repeating the flag.")
}

func (f *kvFlags) casFlag(g *flagGroup) {
	g.intVar(&f.cas, "cas", -1,
		"Check-and-set: write only if the secret's current version is this one "+
			"(0: only if it does not exist yet). The default, -1, skips the check "+
			"unless the mount requires it.")
}

// kvSetup is the common start of a kv command: one path argument, a
// client, and the path resolved against its mount.
func (c *command) kvSetup(args []string, min, max int, mountFlag string) (*api.Client, kvTarget, int) {
	if !c.wantArgs(args, min, max) {
		return nil, kvTarget{}, exitLocal
	}
	client, code := c.clientOrFail()
	if client == nil {
		return nil, kvTarget{}, code
	}
	t, err := c.resolveKV(client, mountFlag, args[0])
	if err != nil {
		c.s.errorf("%s", err)
		return nil, kvTarget{}, exitRemote
	}
	return client, t, exitOK
}

func newKVCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "kv",
		synopsis: "Interact with Vault's Key-Value storage",
		outputs:  noHTTP,
		usage: `
Usage: tresor kv <subcommand> [options] [args]

  Works with the key/value secrets engine, version 1 or 2. The version is
  detected from the mount; for version 2 the data/ and metadata/ parts of
  the API path are added for you.

  Create or update a secret, then read it:

      $ tresor kv put secret/app password=hunter2
      $ tresor kv get secret/app

  Read an older version, or only one field:

      $ tresor kv get -version=1 secret/app
      $ tresor kv get -field=password secret/app

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

func newKVGetCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv get",
		synopsis: "Retrieves data from the KV store",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor kv get [options] KEY

  Reads a secret. For KV version 2 the latest version is read unless
  -version is given, and its metadata is shown above the data.

      $ tresor kv get secret/app
      $ tresor kv get -mount=secret -version=1 app
      $ tresor kv get -field=password secret/app
`,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			g.intVar(&f.version, "version", 0, "Version to read; 0 means the latest (KV v2 only).")
		},
		run: func(c *command, args []string) int {
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			p := t.apiPath("data")
			var params map[string][]string
			if t.v2 && f.version > 0 {
				params = map[string][]string{"version": {strconv.Itoa(f.version)}}
			}
			secret, err := client.Logical().ReadWithDataWithContext(c.s.ctx, p, params)
			if err != nil {
				return c.apiFailed(err, "Error reading %s", p)
			}
			if secret == nil {
				c.s.errorf("No value found at %s", p)
				return exitRemote
			}
			return c.printKVSecret(secret, t, p)
		},
	}
}

// printKVSecret prints a secret read from KV the way kv get does.
func (c *command) printKVSecret(secret *api.Secret, t kvTarget, p string) int {
	pr := c.printer()
	if isWrapped(secret) {
		return pr.secret(secret) // -field then picks from the wrap info
	}
	data := secret.Data
	if t.v2 {
		data, _ = secret.Data["data"].(map[string]any)
	}
	if c.field != "" {
		if t.v2 && data == nil {
			c.s.errorf("No data found at %s", p)
			return exitRemote
		}
		if !t.v2 {
			return pr.secret(secret)
		}
		// "data" names the data block itself unless a key is called that.
		if _, ok := data[c.field]; !ok && c.field == "data" {
			return pr.secret(secret)
		}
		return pr.fieldOf(data)
	}
	if c.format != "table" {
		return pr.secret(secret)
	}
	pr.warnings(secret)
	if t.v2 {
		printPathHeader(c.s.stdout, "Secret Path", p)
	}
	if meta, ok := secret.Data["metadata"].(map[string]any); ok && meta != nil {
		printSection(pr, "Metadata", meta)
		fmt.Fprintln(c.s.stdout)
	}
	if data != nil {
		printSection(pr, "Data", data)
	}
	return exitOK
}

func newKVPutCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv put",
		synopsis: "Sets or updates data in the KV store",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor kv put [options] KEY [DATA]

  Writes the data to KEY, replacing whatever was there. With KV version 2
  every put creates a new version; the previous ones stay readable.

  Data is given as KEY=VALUE pairs; "@file" reads a value from a file, "-"
  from stdin, and a lone "-" or "@file.json" gives a whole JSON object.

      $ tresor kv put secret/app api_key=abc123 db_url=@url.txt
      $ tresor kv put -cas=1 secret/app api_key=def456
`,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			f.casFlag(g)
		},
		run: func(c *command, args []string) int {
			if len(args) == 1 {
				return c.usageError("Must supply data")
			}
			client, t, code := c.kvSetup(args, 1, -1, f.mount)
			if client == nil {
				return code
			}
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse K=V data: %s", err)
			}
			p := t.apiPath("data")
			body := data
			if t.v2 {
				body = kvBody(data, f.cas)
			}
			secret, err := client.Logical().WriteWithContext(c.s.ctx, p, body)
			if err != nil {
				return c.apiFailed(err, "Error writing data to %s", p)
			}
			return c.printKVWrite(secret, t, p)
		},
	}
}

// kvBody wraps data for a KV v2 write, with the check-and-set option when
// cas is not negative.
func kvBody(data map[string]any, cas int) map[string]any {
	body := map[string]any{"data": data}
	if cas >= 0 {
		body["options"] = map[string]any{"cas": cas}
	}
	return body
}

// printKVWrite prints the response of a KV write (put, patch, rollback):
// the new version's metadata.
func (c *command) printKVWrite(secret *api.Secret, t kvTarget, p string) int {
	if secret == nil {
		if c.format == "table" && c.field == "" {
			fmt.Fprintf(c.s.stdout, "Success! Data written to: %s\n", p)
		}
		return exitOK
	}
	pr := c.printer()
	if c.field != "" || c.format != "table" || !t.v2 || isWrapped(secret) {
		return pr.secret(secret)
	}
	pr.warnings(secret)
	printPathHeader(c.s.stdout, "Secret Path", p)
	printSection(pr, "Metadata", secret.Data)
	return exitOK
}

func newKVPatchCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv patch",
		synopsis: "Sets or updates data in the KV store without overwriting",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor kv patch [options] KEY [DATA]

  Updates some fields of an existing KV version 2 secret, keeping the
  others, and stores the result as a new version. The default method sends
  a JSON merge patch (RFC 7396); -method=rw reads the secret, merges
  locally and writes it back with check-and-set.

      $ tresor kv patch secret/app api_key=def456
`,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			f.casFlag(g)
			g.stringVar(&f.method, "method", "patch", "string",
				`"patch" (an HTTP PATCH with a JSON merge patch) or "rw" (read, `+
					`merge, write back).`)
		},
		run: func(c *command, args []string) int {
			if len(args) == 1 {
				return c.usageError("Must supply data")
			}
			if f.method != "patch" && f.method != "rw" {
				return c.usageError("Unsupported method provided to -method flag: %s", f.method)
			}
			client, t, code := c.kvSetup(args, 1, -1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("K/V engine mount must be version 2 for patch support")
				return exitRemote
			}
			data, err := c.s.parseKV(args[1:])
			if err != nil {
				return c.usageError("Failed to parse K=V data: %s", err)
			}
			p := t.apiPath("data")
			var secret *api.Secret
			if f.method == "rw" {
				secret, code = c.kvReadWrite(client, p, data, f.cas)
				if code != exitOK {
					return code
				}
			} else {
				secret, err = client.Logical().JSONMergePatch(c.s.ctx, p, kvBody(data, f.cas))
				if err != nil {
					return c.apiFailed(err, "Error writing data to %s", p)
				}
			}
			return c.printKVWrite(secret, t, p)
		},
	}
}

// kvReadWrite patches by reading the current data, merging data into it
// and writing it back, guarded by cas (the version read, unless given).
func (c *command) kvReadWrite(client *api.Client, p string, data map[string]any, cas int) (*api.Secret, int) {
	restore := withoutWrapping(client) // only the write is the user's answer
	cur, err := client.Logical().ReadWithContext(c.s.ctx, p)
	restore()
	if err != nil {
		return nil, c.apiFailed(err, "Error doing pre-read at %s", p)
	}
	var old map[string]any
	if cur != nil {
		old, _ = cur.Data["data"].(map[string]any)
	}
	if old == nil {
		c.s.errorf("No value found at %s", p)
		return nil, exitRemote
	}
	if cas < 0 {
		meta, _ := cur.Data["metadata"].(map[string]any)
		if v, err := strconv.Atoi(fmt.Sprint(meta["version"])); err == nil {
			cas = v
		}
	}
	for k, v := range data {
		old[k] = v
	}
	secret, err := client.Logical().WriteWithContext(c.s.ctx, p, kvBody(old, cas))
	if err != nil {
		return nil, c.apiFailed(err, "Error writing data to %s", p)
	}
	return secret, exitOK
}

func newKVListCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv list",
		synopsis: "List data or secrets",
		outputs:  withFormat,
		usage: `
Usage: tresor kv list [options] PATH

  Lists the keys under PATH. Keys ending in "/" are folders.

      $ tresor kv list secret/services/
`,
		flags: func(g *flagGroup) { f.mountFlag(g) },
		run: func(c *command, args []string) int {
			if f.mount != "" && len(args) == 0 {
				args = []string{""}
			}
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			p := t.apiPath("metadata")
			if t.v2 && strings.HasSuffix(args[0], "/") {
				p += "/"
			}
			secret, err := client.Logical().ListWithContext(c.s.ctx, p)
			if err != nil {
				return c.apiFailed(err, "Error listing %s", p)
			}
			pr := c.printer()
			if secret != nil && secret.WrapInfo != nil && secret.WrapInfo.TTL != 0 {
				return pr.secret(secret)
			}
			if _, ok := secretKeys(secret); !ok {
				if c.format != "table" {
					pr.encode(map[string]any{})
				} else {
					c.s.errorf("No value found at %s", p)
				}
				return exitRemote
			}
			return pr.list(secret)
		},
	}
}

func newKVDeleteCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv delete",
		synopsis: "Deletes versions in the KV store",
		outputs:  withFormat,
		usage: `
Usage: tresor kv delete [options] PATH

  Deletes the data at PATH. With KV version 2 this is a soft delete of the
  latest version (or of -versions), which kv undelete can restore; the
  metadata and other versions remain.

      $ tresor kv delete secret/app
      $ tresor kv delete -versions=2,3 secret/app
`,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			f.versionsFlag(g, "delete")
		},
		run: func(c *command, args []string) int {
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			var err error
			p := t.apiPath("data")
			if t.v2 && len(f.versions) > 0 {
				p = t.apiPath("delete")
				_, err = client.Logical().WriteWithContext(c.s.ctx, p, map[string]any{"versions": f.versions})
			} else {
				_, err = client.Logical().DeleteWithContext(c.s.ctx, p)
			}
			if err != nil {
				return c.apiFailed(err, "Error deleting %s", p)
			}
			if c.format == "table" {
				fmt.Fprintf(c.s.stdout, "Success! Data deleted (if it existed) at: %s\n", p)
			}
			return exitOK
		},
	}
}

// newKVVersionsCommand builds kv undelete and kv destroy: a KV v2 write of
// {"versions": [...]} to the prefix named like the command.
func newKVVersionsCommand(s *session, verb, synopsis, usage string) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv " + verb,
		synopsis: synopsis,
		outputs:  withFormat,
		usage:    usage,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			f.versionsFlag(g, verb)
		},
		run: func(c *command, args []string) int {
			if len(f.versions) == 0 {
				return c.usageError("No versions provided, use the \"-versions\" flag to specify the version to %s.", verb)
			}
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("%s %s", capitalize(verb), errNotKVv2)
				return exitLocal
			}
			p := t.apiPath(verb)
			secret, err := client.Logical().WriteWithContext(c.s.ctx, p, map[string]any{"versions": f.versions})
			if err != nil {
				return c.apiFailed(err, "Error writing data to %s", p)
			}
			if secret == nil {
				if c.format == "table" {
					fmt.Fprintf(c.s.stdout, "Success! Data written to: %s\n", p)
				}
				return exitOK
			}
			return c.printer().secret(secret)
		},
	}
}

func newKVUndeleteCommand(s *session) *command {
	return newKVVersionsCommand(s, "undelete", "Undeletes versions in the KV store", `
Usage: tresor kv undelete [options] KEY

  Restores soft-deleted versions of a KV version 2 secret.

      $ tresor kv undelete -versions=2 secret/app
`)
}

func newKVDestroyCommand(s *session) *command {
	return newKVVersionsCommand(s, "destroy", "Permanently removes one or more versions in the KV store", `
Usage: tresor kv destroy [options] KEY

  Permanently removes the data of versions of a KV version 2 secret. The
  versions' metadata remains, marked destroyed; the data cannot be
  restored.

      $ tresor kv destroy -versions=2 secret/app
`)
}

func newKVRollbackCommand(s *session) *command {
	var f kvFlags
	return &command{
		s:        s,
		name:     "kv rollback",
		synopsis: "Rolls back to a previous version of data",
		outputs:  withFormat | withField,
		usage: `
Usage: tresor kv rollback [options] KEY

  Restores an earlier version of a KV version 2 secret by writing its data
  as a new version. The write uses check-and-set with the current version,
  so it fails rather than overwrite a concurrent update.

      $ tresor kv rollback -version=1 secret/app
`,
		flags: func(g *flagGroup) {
			f.mountFlag(g)
			g.intVar(&f.version, "version", 0, "Version to roll back to. Required.")
		},
		run: func(c *command, args []string) int {
			if f.version <= 0 {
				return c.usageError("Must specify a version to rollback to with -version")
			}
			client, t, code := c.kvSetup(args, 1, 1, f.mount)
			if client == nil {
				return code
			}
			if !t.v2 {
				c.s.errorf("Rollback %s", errNotKVv2)
				return exitLocal
			}
			p := t.apiPath("data")
			current, _, code := c.kvReadVersion(client, p, 0)
			if code != exitOK {
				return code
			}
			meta, data, code := c.kvReadVersion(client, p, f.version)
			if code != exitOK {
				return code
			}
			switch {
			case meta["deletion_time"] != nil && meta["deletion_time"] != "":
				c.s.errorf("Cannot roll back to a version that has been deleted")
				return exitRemote
			case meta["destroyed"] == true:
				c.s.errorf("Cannot roll back to a version that has been destroyed")
				return exitRemote
			case data == nil:
				c.s.errorf("No data found at %s; rollback only works on existing data", p)
				return exitRemote
			}
			cas, err := strconv.Atoi(fmt.Sprint(current["version"]))
			if err != nil {
				c.s.errorf("Metadata at %s has no valid version", p)
				return exitRemote
			}
			secret, err := client.Logical().WriteWithContext(c.s.ctx, p, kvBody(data, cas))
			if err != nil {
				return c.apiFailed(err, "Error writing data to %s", p)
			}
			return c.printKVWrite(secret, t, p)
		},
	}
}

// kvReadVersion reads version v (0: the latest) of a KV v2 secret and
// returns its metadata and data; a deleted version has nil data.
func (c *command) kvReadVersion(client *api.Client, p string, v int) (meta, data map[string]any, code int) {
	var params map[string][]string
	if v > 0 {
		params = map[string][]string{"version": {strconv.Itoa(v)}}
	}
	restore := withoutWrapping(client) // only the write is the user's answer
	secret, err := client.Logical().ReadWithDataWithContext(c.s.ctx, p, params)
	restore()
	if err != nil {
		return nil, nil, c.apiFailed(err, "Error doing pre-read at %s", p)
	}
	if secret == nil || secret.Data == nil {
		c.s.errorf("No value found at %s", p)
		return nil, nil, exitRemote
	}
	meta, _ = secret.Data["metadata"].(map[string]any)
	if meta == nil {
		c.s.errorf("No metadata found at %s; rollback only works on existing data", p)
		return nil, nil, exitRemote
	}
	data, _ = secret.Data["data"].(map[string]any)
	return meta, data, exitOK
}

func newKVEnableVersioningCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "kv enable-versioning",
		synopsis: "Turns on versioning for a KV store",
		outputs:  withFormat,
		usage: `
Usage: tresor kv enable-versioning [options] KEY

  Upgrades a KV version 1 mount to version 2. Existing secrets become
  version 1 of themselves. The upgrade cannot be undone.

      $ tresor kv enable-versioning secret/
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			p := mountPath(args[0])
			err := client.Sys().TuneMountWithContext(c.s.ctx, p, api.MountConfigInput{
				Options: map[string]string{"version": "2"},
			})
			if err != nil {
				return c.apiFailed(err, "Error tuning secrets engine %s", p)
			}
			fmt.Fprintf(c.s.stdout, "Success! Tuned the secrets engine at: %s\n", p)
			return exitOK
		},
	}
}

// mountPath normalises a mount path as vault prints it: no leading slash,
// one trailing slash.
func mountPath(p string) string {
	return sanitizePath(p) + "/"
}

// capitalize upper-cases the first letter of an ASCII word.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
