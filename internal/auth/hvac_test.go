package auth_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// python3 is Debian's interpreter, where python3-hvac installs.
const python3 = "/usr/bin/python3"

// TestHvacSeeds runs the seeds' hvac examples (testdata/hvac_seeds.py)
// with Debian's python3-hvac against a real server.
func TestHvacSeeds(t *testing.T) {
	if err := exec.Command(python3, "-c", "import hvac").Run(); err != nil {
		testenv.Missing(t, "hvac", "python3-hvac is not installed (apt-get install python3-hvac): %v", err)
	}
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}))
	must(root.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}))
	must(root.Sys().PutPolicy("postgres", `path "secret/data/postgres" { capabilities = ["read"] }`))
	must(root.Sys().PutPolicy("web-policy", `path "secret/data/web/*" { capabilities = ["read"] }`))
	_, err := root.KVv2("secret").Put(ctx, "postgres", map[string]any{"username": "app", "password": "pg-pass", "database": "appdb"})
	must(err)
	_, err = root.KVv2("secret").Put(ctx, "web/app", map[string]any{"db_password": "password"})
	must(err)
	_, err = root.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "postgres", "token_ttl": "1h", "token_max_ttl": "4h"})
	must(err)
	_, err = root.Logical().Write("auth/userpass/users/web", map[string]any{"password": "web", "policies": "web-policy"})
	must(err)
	rid, err := root.Logical().Read("auth/approle/role/app/role-id")
	must(err)
	sid, err := root.Logical().Write("auth/approle/role/app/secret-id", nil)
	must(err)

	cmd := exec.Command(python3, "testdata/hvac_seeds.py")
	cmd.Env = append(os.Environ(),
		"VAULT_ADDR="+s.Addr,
		"VAULT_ROLE_ID="+rid.Data["role_id"].(string),
		"VAULT_SECRET_ID="+sid.Data["secret_id"].(string),
		"VAULT_TOKEN=",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("hvac: %s", out)
	if err != nil {
		t.Fatalf("hvac seeds failed: %v", err)
	}
}
