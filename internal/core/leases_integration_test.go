package core_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/servertest"
)

// leaseEngine issues a leased credential on every read of creds/<name> and
// remembers which leases it was asked to revoke.
type leaseEngine struct {
	ttl     time.Duration
	mu      sync.Mutex
	revoked map[string]time.Time // by credential name
}

func (e *leaseEngine) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	return &logical.Response{
		Data:   map[string]any{"username": req.Path},
		Secret: &logical.Secret{TTL: e.ttl, Renewable: true, InternalData: map[string]any{"user": req.Path}},
	}, nil
}

func (e *leaseEngine) RevokeSecret(ctx context.Context, req *logical.Request, s *logical.Secret, data map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.revoked[s.InternalData["user"].(string)] = time.Now()
	return nil
}

func (e *leaseEngine) wasRevoked(name string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.revoked[name]
	return at, ok
}

func newLeaseServer(t *testing.T, ttl time.Duration) (*servertest.Server, *leaseEngine) {
	eng := &leaseEngine{ttl: ttl, revoked: map[string]time.Time{}}
	s := servertest.New(t, servertest.Options{Backends: map[string]logical.Factory{
		"leasetest": func(context.Context, *logical.BackendConfig) (logical.Backend, error) { return eng, nil },
	}})
	if err := s.Client.Sys().Mount("db", &api.MountInput{Type: "leasetest", Config: api.MountConfigInput{MaxLeaseTTL: "10s"}}); err != nil {
		t.Fatal(err)
	}
	return s, eng
}

func TestLeaseLifecycle(t *testing.T) {
	s, eng := newLeaseServer(t, time.Hour)
	sec, err := s.Client.Logical().Read("db/creds/a")
	if err != nil {
		t.Fatal(err)
	}
	if sec.LeaseID == "" || sec.LeaseDuration != 10 || !sec.Renewable {
		t.Fatalf("lease: id %q duration %d renewable %v; want a 10s (mount max) renewable lease", sec.LeaseID, sec.LeaseDuration, sec.Renewable)
	}
	look, err := s.Client.Sys().Lookup(sec.LeaseID)
	if err != nil || look.Data["id"] != sec.LeaseID {
		t.Fatalf("lookup: %+v %v", look, err)
	}
	// Renewal never passes the max TTL.
	r, err := s.Client.Sys().Renew(sec.LeaseID, 3600)
	if err != nil || r.LeaseDuration > 10 {
		t.Fatalf("renew: %+v %v; want at most 10s", r, err)
	}
	keys, err := s.Client.Logical().List("sys/leases/lookup/db/creds")
	if err != nil || keys == nil {
		t.Fatalf("list leases: %+v %v", keys, err)
	}
	if _, err := s.Client.Logical().Read("db/creds/b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.Sys().RevokePrefix("db/creds"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"creds/a", "creds/b"} {
		if _, ok := eng.wasRevoked(n); !ok {
			t.Errorf("%s not revoked by revoke-prefix", n)
		}
	}
	if _, err := s.Client.Sys().Lookup(sec.LeaseID); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("lookup after revoke: %v; want 400", err)
	}
}

func TestLeaseExpiresOnTime(t *testing.T) {
	s, eng := newLeaseServer(t, time.Second)
	sec, err := s.Client.Logical().Read("db/creds/short")
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	deadline := issued.Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if at, ok := eng.wasRevoked("creds/short"); ok {
			if late := at.Sub(issued.Add(time.Duration(sec.LeaseDuration) * time.Second)); late > time.Second {
				t.Fatalf("revoked %v after expiry; want within 1s", late)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("lease not revoked by the server after expiry")
}

func TestLeasesDieWithTheirToken(t *testing.T) {
	s, eng := newLeaseServer(t, time.Hour)
	_ = s.Client.Sys().PutPolicy("db", `path "db/*" { capabilities = ["read"] }`)
	tok, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"db"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientWith(t, s, tok.Auth.ClientToken).Logical().Read("db/creds/owned"); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.Auth().Token().RevokeTree(tok.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	if _, ok := eng.wasRevoked("creds/owned"); !ok {
		t.Fatal("the lease outlived its token")
	}
}
