package core_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func clientWith(t *testing.T, s *servertest.Server, token string) *api.Client {
	t.Helper()
	c, err := s.Client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func TestPolicyEnforcedEndToEnd(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	err := root.Sys().PutPolicy("web", `
path "secret/data/web/*" { capabilities = ["read", "create", "update"] }
path "secret/data/web/admin" { capabilities = ["deny"] }
path "secret/metadata/*" { policy = "read" }
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/web/db", map[string]any{"data": map[string]any{"password": "pw"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/other", map[string]any{"data": map[string]any{"x": "y"}}); err != nil {
		t.Fatal(err)
	}
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	web := clientWith(t, s, sec.Auth.ClientToken)
	got, err := web.KVv2("secret").Get(context.Background(), "web/db")
	if err != nil || got.Data["password"] != "pw" {
		t.Fatalf("allowed read: %v, %v", got, err)
	}
	for _, p := range []string{"secret/data/other", "secret/data/web/admin", "secret/data/webx", "sys/policies/acl/web"} {
		if _, err := web.Logical().Read(p); statusOf(err) != http.StatusForbidden {
			t.Errorf("read %s: %v; want 403", p, err)
		}
	}
	caps, err := web.Sys().CapabilitiesSelf("secret/data/web/admin")
	if err != nil || len(caps) != 1 || caps[0] != "deny" {
		t.Errorf("capabilities-self on a denied path = %v, %v; want [deny]", caps, err)
	}
	caps, err = root.Sys().Capabilities(sec.Auth.ClientToken, "secret/data/web/db")
	if err != nil || len(caps) != 3 {
		t.Errorf("capabilities = %v, %v", caps, err)
	}
	// Nobody becomes root through a look-alike policy name.
	for _, name := range []string{"Root", " root", "root\t"} {
		if err := root.Sys().PutPolicy(name, `path "*" { capabilities = ["sudo"] }`); statusOf(err) != http.StatusBadRequest {
			t.Errorf("PutPolicy(%q) = %v; want 400", name, err)
		}
	}
	if err := root.Sys().PutPolicy("Admin", `path "sys/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if p, err := root.Sys().GetPolicy("admin"); err != nil || p == "" {
		t.Errorf("policy written as Admin not found as admin: %q %v", p, err)
	}
	if err := root.Sys().PutPolicy("bad", `path "x" { capabilities = ["fly"] }`); statusOf(err) != http.StatusBadRequest {
		t.Errorf("unknown capability: %v; want 400", err)
	}
	if err := root.Sys().DeletePolicy("default"); statusOf(err) != http.StatusBadRequest {
		t.Errorf("deleting default: %v; want 400", err)
	}
}

func TestTokenTree(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	_ = root.Sys().PutPolicy("p", `path "auth/token/create" { capabilities = ["update"] }`)
	parent, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := clientWith(t, s, parent.Auth.ClientToken)
	child, err := pc.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"admin"}}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("child with a policy the parent lacks: %v; want 400", err)
	}
	orphan, err := root.Auth().Token().CreateOrphan(&api.TokenCreateRequest{Policies: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Auth().Token().RevokeTree(parent.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"parent": parent.Auth.ClientToken, "child": child.Auth.ClientToken} {
		if _, err := clientWith(t, s, tok).Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
			t.Errorf("%s after revoke: %v; want 403", name, err)
		}
	}
	if _, err := clientWith(t, s, orphan.Auth.ClientToken).Auth().Token().LookupSelf(); err != nil {
		t.Errorf("orphan died with an unrelated tree: %v", err)
	}
	// An accessor is not a token.
	if _, err := clientWith(t, s, orphan.Auth.Accessor).Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Errorf("accessor used as a token: %v; want 403", err)
	}
}

func TestTokenExpiresWithoutAnyCall(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	sec, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{TTL: "1s", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	acc := sec.Auth.Accessor
	time.Sleep(2100 * time.Millisecond)
	// Looked up by accessor: the server itself must have revoked it.
	if _, err := s.Client.Auth().Token().LookupAccessor(acc); err == nil {
		t.Fatal("token still known by accessor one second after expiry")
	}
	if _, err := clientWith(t, s, sec.Auth.ClientToken).Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("expired token: %v; want 403", err)
	}
}

func TestRenewCappedAndPeriodic(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	tc := s.Client.Auth().Token()
	sec, err := tc.Create(&api.TokenCreateRequest{TTL: "10s", ExplicitMaxTTL: "20s", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tc.Renew(sec.Auth.ClientToken, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if r.Auth.LeaseDuration > 20 {
		t.Fatalf("renew went past explicit_max_ttl: %d s", r.Auth.LeaseDuration)
	}
	per, err := tc.Create(&api.TokenCreateRequest{Period: "30m", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err = clientWith(t, s, per.Auth.ClientToken).Auth().Token().RenewSelf(0)
	if err != nil || r.Auth.LeaseDuration != 1800 {
		t.Fatalf("periodic renew: %v, %v; want 1800 s", r, err)
	}
}

func TestNumUsesExactUnderConcurrency(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	sec, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{NumUses: 3, Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	var ok, denied atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clientWith(t, s, sec.Auth.ClientToken).Auth().Token().LookupSelf()
			switch {
			case err == nil:
				ok.Add(1)
			case statusOf(err) == http.StatusForbidden:
				denied.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 3 || denied.Load() != 9 {
		t.Fatalf("num_uses=3 under 12 requests: %d succeeded, %d denied; want 3 and 9", ok.Load(), denied.Load())
	}
}
