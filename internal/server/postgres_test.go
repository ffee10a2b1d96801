package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// TestPostgresSeedWalkthrough is the Docker seed: a server on PostgreSQL
// storage (Vault's vault_kv_store table), userpass, a policy, a secret
// under the pre-mounted secret/, a user allowed there and refused
// elsewhere; everything still there after a restart.
func TestPostgresSeedWalkthrough(t *testing.T) {
	pg := pgtest.Start(t)
	p := newProc(t)
	conf := fmt.Sprintf(`
storage "postgresql" {
  connection_url = %q
  table          = "vault_kv_store"
}
listener "tcp" {
  address     = %q
  tls_disable = 1
}
`, pg.URL, p.addr)
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	c := p.client("")
	init, err := c.Sys().Init(&api.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.Keys[0], init.Keys[1], init.Keys[2])
	c.SetToken(init.RootToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}))
	must(c.Sys().PutPolicy("web-policy", `path "secret/web/*" { policy = "read" }`))
	_, err = c.Logical().Write("auth/userpass/users/web", map[string]any{"password": "web", "policies": "web-policy"})
	must(err)
	_, err = c.Logical().Write("secret/web/web-apps", map[string]any{"db_password": "password"})
	must(err)
	_, err = c.Logical().Write("secret/hello", map[string]any{"value": "world"})
	must(err)

	p.stop(syscall.SIGTERM)
	p.start()
	c = p.client("")
	unseal(t, c, init.Keys[4], init.Keys[3], init.Keys[2])
	login, err := c.Logical().Write("auth/userpass/login/web", map[string]any{"password": "web"})
	must(err)
	c.SetToken(login.Auth.ClientToken)
	got, err := c.Logical().Read("secret/web/web-apps")
	if err != nil || got.Data["db_password"] != "password" {
		t.Fatalf("allowed read after restart: %+v %v", got, err)
	}
	var re *api.ResponseError
	if _, err := c.Logical().Read("secret/hello"); !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("read outside web-policy: %v; want 403", err)
	}
}
