package core_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestTokenLeasesListed: as in Vault, tokens are leases of the path that
// created them — LIST sys/leases/lookup/auth/token/create/ and
// .../auth/approle/login/ show them, lookup answers for them, and
// revoking the lease revokes the token. Python hvac's
// sys.list_leases(prefix="auth/token/create") answers.
func TestTokenLeasesListed(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/app", map[string]any{"token_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	rid, _ := root.Logical().Read("auth/approle/role/app/role-id")
	sid, _ := root.Logical().Write("auth/approle/role/app/secret-id", nil)
	login, err := root.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
	if err != nil {
		t.Fatal(err)
	}

	keys := func(prefix string) []string {
		t.Helper()
		l, err := root.Logical().List("sys/leases/lookup/" + prefix)
		if err != nil || l == nil {
			t.Fatalf("list %s: %v %v", prefix, l, err)
		}
		var out []string
		for _, k := range l.Data["keys"].([]any) {
			out = append(out, k.(string))
		}
		return out
	}
	if got := keys("auth/"); !slices.Contains(got, "token/") || !slices.Contains(got, "approle/") {
		t.Fatalf("auth/: %v", got)
	}
	if got := keys("auth/token/"); !slices.Contains(got, "create/") {
		t.Fatalf("auth/token/: %v", got)
	}
	created := keys("auth/token/create")
	if len(created) != 1 || strings.Contains(created[0], tok.Auth.ClientToken) {
		t.Fatalf("auth/token/create: %v", created)
	}
	if got := keys("auth/approle/login/"); len(got) != 1 {
		t.Fatalf("auth/approle/login/: %v", got)
	}
	id := "auth/token/create/" + created[0]
	lk, err := root.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": id})
	if err != nil || lk.Data["id"] != id || lk.Data["ttl"] == nil {
		t.Fatalf("lookup %s: %v %v", id, lk, err)
	}

	// hvac, when installed.
	if err := exec.Command("/usr/bin/python3", "-c", "import hvac").Run(); err == nil {
		script := fmt.Sprintf(`import hvac, sys
c = hvac.Client(url=%q, token=%q)
r = c.sys.list_leases(prefix="auth/token/create")
keys = r["data"]["keys"]
assert keys == [%q], keys
print("ok")`, s.Addr, s.RootToken, created[0])
		out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("hvac list_leases: %v\n%s", err, out)
		}
	} else if strings.Contains(","+os.Getenv("TRESOR_REQUIRE")+",", ",hvac,") {
		t.Fatal("python3-hvac missing and TRESOR_REQUIRE names hvac")
	} else {
		t.Log("python3-hvac not installed: skipping the hvac check")
	}

	// Revoking the lease revokes the token.
	if err := root.Sys().Revoke(id); err != nil {
		t.Fatal(err)
	}
	c := clientWith(t, s, tok.Auth.ClientToken)
	if _, err := c.Auth().Token().LookupSelf(); statusOf(err) != 403 {
		t.Fatalf("token after its lease was revoked: %v", err)
	}
	if l, err := root.Logical().List("sys/leases/lookup/auth/token/create"); err != nil || l != nil {
		t.Fatalf("list after revoke: %v %v", l, err)
	}
	_ = login
}
