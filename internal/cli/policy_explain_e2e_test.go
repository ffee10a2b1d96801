package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestPolicyExplainEndToEnd runs `tresor policy explain` against a real
// server: the table names the deciding rule, -format=json is the API's
// answer, and -policy explains policies without a token.
func TestPolicyExplainEndToEnd(t *testing.T) {
	srv := servertest.New(t, servertest.Options{})
	if err := srv.Client.Sys().PutPolicy("app", `
path "secret/data/app/*" { capabilities = ["read"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
`); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken}

	r := runCLI(t, home, vars, "", "policy", "explain", "-op=read", "-policy=app", "secret/data/app/admin")
	if r.code != 0 || !strings.Contains(r.stdout, "deny wins") || !strings.Contains(r.stdout, "secret/data/app/admin (exact)") {
		t.Errorf("table: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, home, vars, "", "policy", "explain", "-format=json", "-policy=app", "-op=read", "secret/data/app/x")
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["decision"] != "allow" {
		t.Errorf("json: exit %d %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	// The root token explains itself.
	r = runCLI(t, home, vars, "", "policy", "explain", "secret/anything")
	if r.code != 0 || !strings.Contains(r.stdout, "root policy") {
		t.Errorf("self: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Another token, read from stdin.
	tok, err := srv.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, home, vars, tok.Auth.ClientToken+"\n", "policy", "explain", "-token=-", "secret/data/app/x")
	if r.code != 0 || !strings.Contains(r.stdout, "allow") || !strings.Contains(r.stdout, "secret/data/app/*") {
		t.Errorf("token from stdin: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, home, vars, "", "policy", "explain", "-op=fly", "secret/x")
	if r.code != 2 || !strings.Contains(r.stderr, "operation must be one of") {
		t.Errorf("bad op: exit %d\n%s", r.code, r.stderr)
	}
}
