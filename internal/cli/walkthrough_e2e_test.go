package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// cliRunner runs tresor commands against one server with a fixed token.
type cliRunner struct {
	t    *testing.T
	home string
	vars map[string]string
}

func newCLIRunner(t *testing.T) (*cliRunner, *servertest.Server) {
	t.Helper()
	srv := servertest.New(t, servertest.Options{})
	return &cliRunner{t: t, home: t.TempDir(), vars: map[string]string{
		"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken,
	}}, srv
}

// run executes args with stdin and fails the test unless the exit code is
// wantCode.
func (r *cliRunner) run(wantCode int, stdin string, args ...string) result {
	r.t.Helper()
	res := runCLI(r.t, r.home, r.vars, stdin, args...)
	if res.code != wantCode {
		r.t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), res.code, wantCode, res.stdout, res.stderr)
	}
	return res
}

// timestamps stand in for the times in kv output, which vary per run.
var timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

func wantOutput(t *testing.T, what, got, want string) {
	t.Helper()
	got = timestamps.ReplaceAllString(got, "TIME")
	if got != want {
		t.Errorf("%s: output\n%s\nwant\n%s", what, got, want)
	}
}

func wantContains(t *testing.T, what, got string, parts ...string) {
	t.Helper()
	got = timestamps.ReplaceAllString(got, "TIME")
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("%s: output lacks %q:\n%s", what, p, got)
		}
	}
}

// TestKVWalkthrough follows the Portoser tutorial's KV v2 steps word for
// word: versions, rollback, soft delete, undelete, destroy, metadata.
func TestKVWalkthrough(t *testing.T) {
	r, _ := newCLIRunner(t)
	const p = "secret/services/my-app"

	res := r.run(0, "", "kv", "put", p, "api_key=key-1", "database_url=postgres://db/app", "jwt_secret=jwt-1")
	wantOutput(t, "put v1", res.stdout, ""+
		"======= Secret Path =======\n"+
		"secret/data/services/my-app\n"+
		"\n"+
		"======= Metadata =======\n"+
		"Key                Value\n"+
		"---                -----\n"+
		"created_time       TIME\n"+
		"custom_metadata    <nil>\n"+
		"deletion_time      n/a\n"+
		"destroyed          false\n"+
		"version            1\n")
	res = r.run(0, "", "kv", "put", p, "api_key=key-2", "database_url=postgres://db/app", "jwt_secret=jwt-2")
	wantContains(t, "put v2", res.stdout, "version            2\n")

	res = r.run(0, "", "kv", "get", "-version=1", p)
	wantOutput(t, "get v1", res.stdout, ""+
		"======= Secret Path =======\n"+
		"secret/data/services/my-app\n"+
		"\n"+
		"======= Metadata =======\n"+
		"Key                Value\n"+
		"---                -----\n"+
		"created_time       TIME\n"+
		"custom_metadata    <nil>\n"+
		"deletion_time      n/a\n"+
		"destroyed          false\n"+
		"version            1\n"+
		"\n"+
		"======== Data ========\n"+
		"Key             Value\n"+
		"---             -----\n"+
		"api_key         key-1\n"+
		"database_url    postgres://db/app\n"+
		"jwt_secret      jwt-1\n")

	res = r.run(0, "", "kv", "rollback", "-version=1", p)
	wantContains(t, "rollback", res.stdout, "version            3\n")
	res = r.run(0, "", "kv", "get", "-field=api_key", p)
	if res.stdout != "key-1" {
		t.Errorf("after rollback api_key = %q, want key-1", res.stdout)
	}

	res = r.run(0, "", "kv", "delete", "-versions=2", p)
	wantOutput(t, "delete", res.stdout, "Success! Data deleted (if it existed) at: secret/delete/services/my-app\n")
	// A deleted version still shows its metadata, as with vault: exit 0.
	res = r.run(0, "", "kv", "get", "-version=2", p)
	wantContains(t, "get deleted", res.stdout, "deletion_time      TIME")
	if strings.Contains(res.stdout, "Data") {
		t.Errorf("deleted version shows data:\n%s", res.stdout)
	}
	res = r.run(0, "", "kv", "undelete", "-versions=2", p)
	wantOutput(t, "undelete", res.stdout, "Success! Data written to: secret/undelete/services/my-app\n")
	res = r.run(0, "", "kv", "get", "-version=2", "-field=jwt_secret", p)
	if res.stdout != "jwt-2" {
		t.Errorf("undeleted jwt_secret = %q, want jwt-2", res.stdout)
	}
	res = r.run(0, "", "kv", "destroy", "-versions=2", p)
	wantOutput(t, "destroy", res.stdout, "Success! Data written to: secret/destroy/services/my-app\n")

	res = r.run(0, "", "kv", "list", "secret/services/")
	wantOutput(t, "list", res.stdout, "Keys\n----\nmy-app\n")

	res = r.run(0, "", "kv", "metadata", "get", p)
	wantContains(t, "metadata get", res.stdout,
		"======== Metadata Path ========\nsecret/metadata/services/my-app\n\n",
		"========== Metadata ==========\n",
		"current_version         3\n",
		"====== Version 1 ======\n",
		"====== Version 2 ======\n",
		"destroyed        true\n",
		"====== Version 3 ======\n")
	if i, j := strings.Index(res.stdout, "Version 1"), strings.Index(res.stdout, "Version 3"); i > j {
		t.Errorf("versions out of order:\n%s", res.stdout)
	}

	res = r.run(0, "", "kv", "get", "-field=api_key", p)
	if res.stdout != "key-1" {
		t.Errorf("kv get -field=api_key = %q, want key-1", res.stdout)
	}
	res = r.run(0, "", "kv", "get", "-format=json", p)
	var doc struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil || doc.Data.Data["jwt_secret"] != "jwt-1" {
		t.Errorf("kv get json (%v):\n%s", err, res.stdout)
	}
}

// TestKVOtherCommands covers -mount, patch, metadata put/patch/delete and
// the version-2-only checks.
func TestKVOtherCommands(t *testing.T) {
	r, _ := newCLIRunner(t)
	r.run(0, "", "kv", "put", "-mount=secret", "app", "a=1", "b=2")
	r.run(0, "", "kv", "patch", "-mount=secret", "app", "b=3")
	r.run(0, "", "kv", "patch", "-method=rw", "secret/app", "c=4")
	res := r.run(0, "", "kv", "get", "-format=json", "-field=data", "secret/app")
	wantOutput(t, "patched data", res.stdout, "{\n  \"a\": \"1\",\n  \"b\": \"3\",\n  \"c\": \"4\"\n}")
	r.run(2, "", "kv", "put", "-cas=1", "secret/app", "a=stale")

	r.run(0, "", "kv", "metadata", "put", "-max-versions=5", "-custom-metadata=owner=ops", "secret/app")
	r.run(0, "", "kv", "metadata", "patch", "-custom-metadata=team=web", "secret/app")
	res = r.run(0, "", "kv", "metadata", "get", "-format=json", "secret/app")
	wantContains(t, "metadata json", res.stdout, `"max_versions": 5`, `"owner": "ops"`, `"team": "web"`)
	res = r.run(0, "", "kv", "metadata", "delete", "secret/app")
	wantOutput(t, "metadata delete", res.stdout, "Success! Data deleted (if it existed) at: secret/metadata/app\n")
	r.run(2, "", "kv", "get", "secret/app")

	r.run(0, "", "secrets", "enable", "-path=old", "-version=1", "kv")
	r.run(0, "", "kv", "put", "old/x", "k=v")
	res = r.run(1, "", "kv", "destroy", "-versions=1", "old/x")
	wantContains(t, "destroy on v1", res.stderr, "Destroy not supported on KV Version 1")
	res = r.run(0, "", "kv", "enable-versioning", "old/")
	wantOutput(t, "enable-versioning", res.stdout, "Success! Tuned the secrets engine at: old/\n")
	res = r.run(0, "", "kv", "get", "-field=k", "old/x")
	if res.stdout != "v" {
		t.Errorf("after enable-versioning k = %q", res.stdout)
	}
}

// TestPolicyTokenWalkthrough: a policy from a stdin heredoc, a token
// holding it, and what that token may do.
func TestPolicyTokenWalkthrough(t *testing.T) {
	r, _ := newCLIRunner(t)
	const rules = `path "secret/data/services/my-app" {
  capabilities = ["read"]
}
`
	res := r.run(0, rules, "policy", "write", "web-app-policy", "-")
	wantOutput(t, "policy write", res.stdout, "Success! Uploaded policy: web-app-policy\n")
	res = r.run(0, "", "policy", "read", "web-app-policy")
	wantOutput(t, "policy read", res.stdout, strings.TrimSpace(rules)+"\n")
	res = r.run(0, "", "policy", "list")
	wantContains(t, "policy list", res.stdout, "default\n", "web-app-policy\n")

	res = r.run(0, "", "token", "create", "-policy=web-app-policy", "-field=token")
	token := res.stdout
	if token == "" {
		t.Fatal("token create printed no token")
	}
	res = r.run(0, "", "token", "capabilities", token, "secret/data/services/my-app")
	wantOutput(t, "capabilities", res.stdout, "read\n")
	res = r.run(0, "", "token", "capabilities", token, "secret/data/other")
	wantOutput(t, "capabilities elsewhere", res.stdout, "deny\n")
	res = r.run(0, "", "token", "capabilities", "secret/data/other")
	wantOutput(t, "root capabilities", res.stdout, "root\n")

	res = r.run(0, "", "token", "lookup", "-format=json", token)
	wantContains(t, "lookup", res.stdout, `"web-app-policy"`)
	r.run(0, "", "token", "renew", "-increment=1h", token)
	res = r.run(0, "", "token", "revoke", token)
	wantOutput(t, "revoke", res.stdout, "Success! Revoked token (if it existed)\n")
	r.run(2, "", "token", "lookup", token)

	res = r.run(0, "", "policy", "delete", "web-app-policy")
	wantOutput(t, "policy delete", res.stdout, "Success! Deleted policy: web-app-policy\n")
	r.run(2, "", "policy", "read", "web-app-policy")
}

// TestSecretsEnginesWalkthrough: a KV v1 mount, the legacy generic mount,
// and the v1→v2 upgrade by tuning.
func TestSecretsEnginesWalkthrough(t *testing.T) {
	r, _ := newCLIRunner(t)
	res := r.run(0, "", "secrets", "enable", "-path=kv1", "-version=1", "kv")
	wantOutput(t, "enable", res.stdout, "Success! Enabled the kv secrets engine at: kv1/\n")
	r.run(0, "", "write", "kv1/hello", "value=world")
	res = r.run(0, "", "read", "-field=value", "kv1/hello")
	if res.stdout != "world" {
		t.Errorf("read kv1/hello value = %q", res.stdout)
	}

	res = r.run(0, "", "mount", "-path=django", "-description=Secrets used in a Django project", "generic")
	wantOutput(t, "legacy mount", res.stdout, "Success! Enabled the generic secrets engine at: django/\n")
	wantContains(t, "legacy mount hint", res.stderr, "`vault mount` is deprecated; use `tresor secrets enable`")
	r.run(0, "", "write", "django/aws-access-key", "value=AKIA123")
	res = r.run(0, "", "read", "django/aws-access-key")
	// As with Vault, a KV v1 read tells when to read again: the mount's
	// default lease TTL.
	wantContains(t, "read django", res.stdout, "refresh_interval    768h", "value               AKIA123")
	res = r.run(0, "", "secrets", "list")
	wantContains(t, "secrets list", res.stdout, "Path ", "django/ ", "Secrets used in a Django project", "kv1/ ")
	res = r.run(0, "", "mounts")
	wantContains(t, "legacy mounts", res.stdout, "django/ ")

	res = r.run(0, "", "secrets", "tune", "-options=version=2", "kv1")
	wantOutput(t, "tune", res.stdout, "Success! Tuned the secrets engine at: kv1/\n")
	res = r.run(0, "", "kv", "get", "kv1/hello")
	wantContains(t, "kv get after upgrade", res.stdout, "kv1/data/hello", "value    world")
	res = r.run(0, "", "secrets", "list", "-detailed")
	wantContains(t, "detailed", res.stdout, "map[version:2]")

	res = r.run(0, "", "secrets", "move", "kv1", "kv2")
	wantOutput(t, "move", res.stdout, "Success! Finished moving secrets engine kv1/ to kv2/\n")
	res = r.run(0, "", "secrets", "disable", "kv2")
	wantOutput(t, "disable", res.stdout, "Success! Disabled the secrets engine (if it existed) at: kv2/\n")
}

// TestLegacyVerbs runs vault 0.x commands from old tutorials: each prints
// the hint on stderr and does the modern command's job.
func TestLegacyVerbs(t *testing.T) {
	r, _ := newCLIRunner(t)
	res := r.run(0, "", "policies")
	wantContains(t, "policies", res.stdout, "default\n")
	wantContains(t, "policies hint", res.stderr, "`vault policies` is deprecated")
	res = r.run(0, "", "policies", "default")
	wantContains(t, "policies NAME", res.stdout, `path "auth/token/lookup-self"`)
	r.run(0, `path "secret/*" { capabilities = ["list"] }`, "policy-write", "lister", "-")

	token := r.run(0, "", "token-create", "-policy=lister", "-field=token").stdout
	res = r.run(0, "", "capabilities", token, "secret/x")
	wantOutput(t, "capabilities", res.stdout, "list\n")
	res = r.run(0, "", "token-lookup", "-field=display_name", token)
	wantOutput(t, "token-lookup", res.stdout, "token")
	r.run(0, "", "token-renew", token)
	r.run(0, "", "token-revoke", token)

	r.run(0, "", "mount", "kv")
	res = r.run(0, "", "remount", "kv", "kv-old")
	wantContains(t, "remount hint", res.stderr, "use `tresor secrets move`")
	res = r.run(0, "", "unmount", "kv-old")
	wantOutput(t, "unmount", res.stdout, "Success! Disabled the secrets engine (if it existed) at: kv-old/\n")
	res = r.run(2, "", "unseal", "not-a-key")
	wantContains(t, "unseal hint", res.stderr, "use `tresor operator unseal`")
	r.run(0, "", "seal")
}
