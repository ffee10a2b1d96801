package token

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestCreateLookupShapes(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.create(f.root, map[string]any{"policies": []any{"Dev", "ops"}, "meta": map[string]any{"app": "x"}, "display_name": "ci bot", "ttl": "1h"})
	if !strings.HasPrefix(a.ClientToken, ServicePrefix) || len(a.ClientToken) != len(ServicePrefix)+24 {
		t.Errorf("client_token %q: want hvs. + 24 chars", a.ClientToken)
	}
	if a.Accessor == "" || a.Accessor == a.ClientToken {
		t.Errorf("accessor %q", a.Accessor)
	}
	if want := []string{"default", "dev", "ops"}; !slices.Equal(a.Policies, want) || !slices.Equal(a.TokenPolicies, want) {
		t.Errorf("policies %v, want %v", a.Policies, want)
	}
	if a.LeaseDuration != 3600 || !a.Renewable || a.TokenType != TypeService || a.Orphan {
		t.Errorf("auth %+v", a)
	}
	d := f.mustDo(logical.ReadOperation, "lookup-self", a.ClientToken, nil).Data
	want := map[string]any{
		"id": a.ClientToken, "accessor": a.Accessor, "display_name": "token-ci-bot", "path": "auth/token/create",
		"creation_ttl": int64(3600), "ttl": int64(3600), "explicit_max_ttl": int64(0), "num_uses": 0,
		"orphan": false, "renewable": true, "type": "service", "entity_id": "",
		"creation_time": f.clock.Now().Unix(), "issue_time": f.clock.Now().Format(time.RFC3339Nano),
		"expire_time": f.clock.Now().Add(time.Hour).Format(time.RFC3339Nano),
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("lookup %s = %#v, want %#v", k, d[k], v)
		}
	}
	if m, _ := d["meta"].(map[string]string); m["app"] != "x" {
		t.Errorf("meta %v", d["meta"])
	}
	if _, ok := d["period"]; ok {
		t.Error("period reported for a non-periodic token")
	}
	// Root tokens never expire and report no lease.
	rd := f.mustDo(logical.ReadOperation, "lookup-self", f.root, nil).Data
	if rd["expire_time"] != nil || rd["ttl"] != int64(0) || rd["orphan"] != true {
		t.Errorf("root lookup %v", rd)
	}
	// lookup of an unknown token is Vault's 403 "bad token".
	if _, err := f.do(logical.UpdateOperation, "lookup", f.root, map[string]any{"token": "hvs.nope"}); errStatus(err) != 403 {
		t.Errorf("lookup unknown: %v", err)
	}
	// lookup-accessor hides the ID.
	ad := f.mustDo(logical.UpdateOperation, "lookup-accessor", f.root, map[string]any{"accessor": a.Accessor}).Data
	if ad["id"] != "" || ad["accessor"] != a.Accessor {
		t.Errorf("lookup-accessor id=%v accessor=%v", ad["id"], ad["accessor"])
	}
}

func TestChildPolicies(t *testing.T) {
	f := newFixture(t, Options{})
	parent := f.create(f.root, map[string]any{"policies": "a,b"})
	tests := map[string]struct {
		parent string
		data   map[string]any
		want   []string
		status int
	}{
		"inherits parent":           {parent.ClientToken, nil, []string{"a", "b", "default"}, 200},
		"subset allowed":            {parent.ClientToken, map[string]any{"policies": "a"}, []string{"a", "default"}, 200},
		"superset refused":          {parent.ClientToken, map[string]any{"policies": "a,c"}, nil, 400},
		"root policy refused":       {parent.ClientToken, map[string]any{"policies": "root"}, nil, 400},
		"no default policy":         {parent.ClientToken, map[string]any{"policies": "a", "no_default_policy": true}, []string{"a"}, 200},
		"root parent gives any":     {f.root, map[string]any{"policies": "zzz"}, []string{"default", "zzz"}, 200},
		"root parent root child":    {f.root, nil, []string{"root"}, 200},
		"orphan needs sudo":         {parent.ClientToken, map[string]any{"no_parent": true}, nil, 400},
		"custom id needs sudo":      {parent.ClientToken, map[string]any{"id": "mine"}, nil, 400},
		"period needs sudo":         {parent.ClientToken, map[string]any{"period": "1h"}, nil, 400},
		"batch cannot be periodic":  {f.root, map[string]any{"type": "batch", "period": "1h"}, nil, 400},
		"bad type":                  {f.root, map[string]any{"type": "weird"}, nil, 400},
		"negative num_uses refused": {f.root, map[string]any{"num_uses": -1}, nil, 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := f.do(logical.UpdateOperation, "create", tc.parent, tc.data)
			if got := errStatus(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if err == nil && !slices.Equal(resp.Auth.Policies, tc.want) {
				t.Errorf("policies %v, want %v", resp.Auth.Policies, tc.want)
			}
		})
	}
	if _, err := f.do(logical.UpdateOperation, "create", parent.ClientToken, map[string]any{"policies": "a,c"}); err == nil || err.Error() != "child policies must be subset of parent" {
		t.Errorf("error text %v", err)
	}
}

func TestRevokeTree(t *testing.T) {
	f := newFixture(t, Options{})
	p := f.create(f.root, map[string]any{"policies": "a"})
	c1 := f.create(p.ClientToken, nil)
	c2 := f.create(p.ClientToken, nil)
	g := f.create(c1.ClientToken, nil)
	orphan := f.mustDo(logical.UpdateOperation, "create-orphan", p.ClientToken, nil).Auth
	batch := f.create(p.ClientToken, map[string]any{"type": "batch"})
	if !orphan.Orphan || !f.alive(batch.ClientToken) {
		t.Fatalf("orphan=%v batch alive=%v", orphan.Orphan, f.alive(batch.ClientToken))
	}
	f.mustDo(logical.UpdateOperation, "revoke", f.root, map[string]any{"token": p.ClientToken})
	for name, id := range map[string]string{"parent": p.ClientToken, "child1": c1.ClientToken, "child2": c2.ClientToken, "grandchild": g.ClientToken, "batch child": batch.ClientToken} {
		if f.alive(id) {
			t.Errorf("%s survived its parent's revocation", name)
		}
	}
	if !f.alive(orphan.ClientToken) {
		t.Error("orphan died with its creator")
	}
	// Children are revoked before their parents.
	idx := func(acc string) int { return slices.Index(f.revoked, acc) }
	if idx(g.Accessor) > idx(c1.Accessor) || idx(c1.Accessor) > idx(p.Accessor) || idx(p.Accessor) < 0 {
		t.Errorf("revocation order %v", f.revoked)
	}
	// Revoking an unknown token is a quiet 204, as in Vault.
	if resp, err := f.do(logical.UpdateOperation, "revoke", f.root, map[string]any{"token": p.ClientToken}); err != nil || resp != nil {
		t.Errorf("revoke again: %v %v", resp, err)
	}
}

func TestRevokeOrphan(t *testing.T) {
	f := newFixture(t, Options{})
	p := f.create(f.root, map[string]any{"policies": "a"})
	c := f.create(p.ClientToken, nil)
	g := f.create(c.ClientToken, nil)
	if _, err := f.do(logical.UpdateOperation, "revoke-orphan", p.ClientToken, map[string]any{"token": p.ClientToken}); errStatus(err) != 400 {
		t.Errorf("revoke-orphan without sudo: %v", err)
	}
	f.mustDo(logical.UpdateOperation, "revoke-orphan", f.root, map[string]any{"token": p.ClientToken})
	if f.alive(p.ClientToken) || !f.alive(c.ClientToken) || !f.alive(g.ClientToken) {
		t.Fatal("revoke-orphan: parent must die, descendants live")
	}
	if d := f.mustDo(logical.ReadOperation, "lookup-self", c.ClientToken, nil).Data; d["orphan"] != true {
		t.Errorf("child orphan = %v", d["orphan"])
	}
	// The grandchild still belongs to the child.
	f.mustDo(logical.UpdateOperation, "revoke-self", c.ClientToken, nil)
	if f.alive(g.ClientToken) {
		t.Error("grandchild survived")
	}
	sp := f.b.(logical.SpecialPather).SpecialPaths()
	if !slices.Contains(sp.Root, "revoke-orphan") || !slices.Contains(sp.Root, "accessors") || len(sp.Unauthenticated) != 0 {
		t.Errorf("special paths %+v", sp)
	}
}

func TestTTLCapsAndRenew(t *testing.T) {
	f := newFixture(t, Options{MaxTTL: 10 * time.Hour, DefaultTTL: 2 * time.Hour})
	tests := map[string]struct {
		data     map[string]any
		ttl      int
		warnings int
	}{
		"default ttl":                 {nil, 7200, 0},
		"asked ttl":                   {map[string]any{"ttl": "3h"}, 3 * 3600, 0},
		"capped by system max":        {map[string]any{"ttl": "100h"}, 36000, 1},
		"capped by explicit max":      {map[string]any{"ttl": "5h", "explicit_max_ttl": "1h"}, 3600, 1},
		"periodic gets period":        {map[string]any{"period": "30m"}, 1800, 0},
		"period capped by system max": {map[string]any{"period": "20h"}, 36000, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string]any{"policies": "a"}
			for k, v := range tc.data {
				data[k] = v
			}
			resp := f.mustDo(logical.UpdateOperation, "create", f.root, data)
			if resp.Auth.LeaseDuration != tc.ttl || len(resp.Warnings) != tc.warnings {
				t.Errorf("lease_duration %d warnings %q, want %d and %d warnings", resp.Auth.LeaseDuration, resp.Warnings, tc.ttl, tc.warnings)
			}
		})
	}

	t.Run("renew never passes the max", func(t *testing.T) {
		a := f.create(f.root, map[string]any{"policies": "a", "ttl": "1h", "explicit_max_ttl": "3h"})
		f.clock.Add(30 * time.Minute)
		resp := f.mustDo(logical.UpdateOperation, "renew-self", a.ClientToken, map[string]any{"increment": "2h"})
		if resp.Auth.LeaseDuration != 7200 || len(resp.Warnings) != 0 {
			t.Errorf("first renew: %d %q", resp.Auth.LeaseDuration, resp.Warnings)
		}
		f.clock.Add(90 * time.Minute) // 2h in, 1h left of the 3h cap
		resp = f.mustDo(logical.UpdateOperation, "renew", f.root, map[string]any{"token": a.ClientToken, "increment": 24 * 3600})
		if resp.Auth.LeaseDuration != 3600 || len(resp.Warnings) != 1 {
			t.Errorf("capped renew: %d %q", resp.Auth.LeaseDuration, resp.Warnings)
		}
		d := f.mustDo(logical.ReadOperation, "lookup-self", a.ClientToken, nil).Data
		if d["ttl"] != int64(3600) || d["last_renewal_time"] != f.clock.Now().Unix() {
			t.Errorf("after renew ttl=%v last_renewal_time=%v", d["ttl"], d["last_renewal_time"])
		}
		f.clock.Add(time.Hour)
		if f.alive(a.ClientToken) {
			t.Error("token outlived its explicit max TTL")
		}
	})

	t.Run("periodic renews forever", func(t *testing.T) {
		a := f.create(f.root, map[string]any{"policies": "a", "period": "1h"})
		for range 30 { // 30h, past the 10h system max
			f.clock.Add(50 * time.Minute)
			resp := f.mustDo(logical.UpdateOperation, "renew-self", a.ClientToken, map[string]any{"increment": "5h"})
			if resp.Auth.LeaseDuration != 3600 {
				t.Fatalf("periodic renew gave %d", resp.Auth.LeaseDuration)
			}
		}
	})

	t.Run("not renewable", func(t *testing.T) {
		a := f.create(f.root, map[string]any{"policies": "a", "renewable": false})
		if _, err := f.do(logical.UpdateOperation, "renew-self", a.ClientToken, nil); errStatus(err) != 400 {
			t.Errorf("renew non-renewable: %v", err)
		}
		if _, err := f.do(logical.UpdateOperation, "renew-self", f.root, nil); errStatus(err) != 400 {
			t.Errorf("renew root: %v", err)
		}
	})
}

func TestExpiryLoopRevokesWithoutCalls(t *testing.T) {
	f := newFixture(t, Options{Now: time.Now})
	f.s.Start(t.Context())
	defer f.s.Stop()
	short, err := f.s.Create(t.Context(), &Entry{Policies: []string{"a"}, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	child, err := f.s.Create(t.Context(), &Entry{Policies: []string{"a"}, Parent: f.s.key(short.ID).String()})
	if err != nil {
		t.Fatal(err)
	}
	deadline := short.ExpireTime.Add(time.Second)
	for {
		f.mu.Lock()
		done := slices.Contains(f.revoked, short.Accessor) && slices.Contains(f.revoked, child.Accessor)
		f.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not revoked within 1s of expiry; revoked %v", f.revoked)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := f.s.store.Get(t.Context(), idPrefix+f.s.key(short.ID).String()); err == nil {
		t.Error("expired entry still stored")
	}
}

func TestNumUsesExactUnderConcurrency(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.create(f.root, map[string]any{"policies": "a", "num_uses": 3})
	e, err := f.s.Lookup(t.Context(), a.ClientToken)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ok, last := 0, 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			l, err := f.s.Use(t.Context(), e)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				if l {
					last++
				}
			} else if !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 3 || last != 1 {
		t.Fatalf("%d uses succeeded (%d last), want 3 (1 last)", ok, last)
	}
	if f.alive(a.ClientToken) {
		t.Error("used-up token still found")
	}
	if err := f.s.Revoke(t.Context(), a.ClientToken); err != nil {
		t.Errorf("revoke after last use: %v", err)
	}
	// A restricted-use token cannot create children.
	b := f.create(f.root, map[string]any{"policies": "a", "num_uses": 2})
	if _, err := f.do(logical.UpdateOperation, "create", b.ClientToken, nil); errStatus(err) != 400 {
		t.Errorf("restricted parent: %v", err)
	}
}

func TestAccessorIsNotAToken(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.create(f.root, nil)
	if _, err := f.s.Lookup(t.Context(), a.Accessor); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup by accessor as ID: %v", err)
	}
	if _, err := f.s.LookupAccessor(t.Context(), a.ClientToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup of ID as accessor: %v", err)
	}
	keys := f.mustDo(logical.ListOperation, "accessors/", f.root, nil).Data["keys"].([]string)
	if !slices.Contains(keys, a.Accessor) || len(keys) != 2 {
		t.Errorf("accessors %v", keys)
	}
	f.mustDo(logical.UpdateOperation, "revoke-accessor", f.root, map[string]any{"accessor": a.Accessor})
	if f.alive(a.ClientToken) {
		t.Error("revoke-accessor left the token")
	}
	if _, err := f.do(logical.UpdateOperation, "lookup-accessor", f.root, map[string]any{"accessor": a.Accessor}); errStatus(err) != 400 {
		t.Errorf("lookup-accessor of revoked: %v", err)
	}
}

func TestBatchTokens(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.create(f.root, map[string]any{"type": "batch", "policies": "a", "ttl": "1h"})
	if !strings.HasPrefix(a.ClientToken, BatchPrefix) || a.Accessor != "" || a.Renewable || a.TokenType != TypeBatch {
		t.Fatalf("batch auth %+v", a)
	}
	e, err := f.s.Lookup(t.Context(), a.ClientToken)
	if err != nil || !slices.Equal(e.Policies, []string{"a", "default"}) {
		t.Fatalf("lookup batch: %v %v", e, err)
	}
	if names, _ := f.s.store.List(t.Context(), idPrefix); len(names) != 1 {
		t.Errorf("batch token was stored: %v", names)
	}
	tampered := []byte(a.ClientToken)
	tampered[len(tampered)-5] ^= 1
	for name, id := range map[string]string{"tampered": string(tampered), "truncated": a.ClientToken[:20], "garbage": BatchPrefix + "!!"} {
		if _, err := f.s.Lookup(t.Context(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s batch token: %v", name, err)
		}
	}
	tests := map[string]struct {
		op   logical.Operation
		path string
		data map[string]any
	}{
		"cannot renew":         {logical.UpdateOperation, "renew-self", nil},
		"cannot create tokens": {logical.UpdateOperation, "create", nil},
		"cannot revoke":        {logical.UpdateOperation, "revoke", map[string]any{"token": a.ClientToken}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := f.do(tc.op, tc.path, a.ClientToken, tc.data); errStatus(err) != 400 {
				t.Errorf("%s: %v", tc.path, err)
			}
		})
	}
	f.clock.Add(time.Hour)
	if f.alive(a.ClientToken) {
		t.Error("batch token outlived its TTL")
	}
}

func TestRolesCRUDAndCreate(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustDo(logical.CreateOperation, "roles/web", f.root, map[string]any{
		"allowed_policies": "web,db", "orphan": true, "token_period": "2h", "path_suffix": "v1", "renewable": true,
	})
	d := f.mustDo(logical.ReadOperation, "roles/web", f.root, nil).Data
	if !slices.Equal(d["allowed_policies"].([]string), []string{"db", "web"}) || d["period"] != int64(7200) || d["token_type"] != "default-service" || d["orphan"] != true {
		t.Errorf("role read %v", d)
	}
	if keys := f.mustDo(logical.ListOperation, "roles", f.root, nil).Data["keys"].([]string); !slices.Equal(keys, []string{"web"}) {
		t.Errorf("roles %v", keys)
	}
	p := f.create(f.root, map[string]any{"policies": "other"})
	resp := f.mustDo(logical.UpdateOperation, "create/web", p.ClientToken, nil)
	a := resp.Auth
	if !slices.Equal(a.Policies, []string{"db", "default", "web"}) || !a.Orphan || a.LeaseDuration != 7200 {
		t.Errorf("role token %+v", a)
	}
	ld := f.mustDo(logical.ReadOperation, "lookup-self", a.ClientToken, nil).Data
	if ld["path"] != "auth/token/create/web/v1" || ld["role"] != "web" || ld["period"] != int64(7200) {
		t.Errorf("role token lookup %v", ld)
	}
	if _, err := f.do(logical.UpdateOperation, "create/web", p.ClientToken, map[string]any{"policies": "admin"}); errStatus(err) != 400 {
		t.Errorf("policy outside role: %v", err)
	}
	if _, err := f.do(logical.UpdateOperation, "create/nope", p.ClientToken, nil); errStatus(err) != 400 {
		t.Errorf("unknown role: %v", err)
	}
	f.mustDo(logical.UpdateOperation, "roles/web", f.root, map[string]any{"token_type": "batch", "token_period": 0})
	if a := f.mustDo(logical.UpdateOperation, "create/web", p.ClientToken, nil).Auth; a.TokenType != TypeBatch {
		t.Errorf("batch role gave %q", a.TokenType)
	}
	f.mustDo(logical.DeleteOperation, "roles/web", f.root, nil)
	if resp, err := f.do(logical.ReadOperation, "roles/web", f.root, nil); resp != nil || err != nil {
		t.Errorf("deleted role read %v %v", resp, err)
	}
}

func TestCacheCoherence(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.create(f.root, map[string]any{"policies": "a"})
	if !f.alive(a.ClientToken) { // warm the cache
		t.Fatal("new token not found")
	}
	f.mustDo(logical.UpdateOperation, "revoke", f.root, map[string]any{"token": a.ClientToken})
	if f.alive(a.ClientToken) {
		t.Fatal("revoked token still served from the cache")
	}
	// A second store over the same storage sees what the first wrote.
	b := f.create(f.root, map[string]any{"policies": "a", "ttl": "1h"})
	s2, err := Open(t.Context(), f.s.store, Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s2.Lookup(t.Context(), b.ClientToken)
	if err != nil || e.ID != b.ClientToken || e.Accessor != b.Accessor {
		t.Fatalf("reopened lookup: %+v %v", e, err)
	}
	if _, err := s2.Lookup(t.Context(), a.ClientToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token after reopen: %v", err)
	}
}

func TestCreateFromAuth(t *testing.T) {
	f := newFixture(t, Options{})
	a := &logical.Auth{Policies: []string{"dev"}, TTL: time.Hour, MaxTTL: 2 * time.Hour, Renewable: true, DisplayName: "userpass-alice", Metadata: map[string]string{"username": "alice"}}
	e, err := f.s.CreateFromAuth(t.Context(), a, "auth/userpass/login/alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.ClientToken != e.ID || a.Accessor != e.Accessor || a.LeaseDuration != 3600 || !a.Orphan || !slices.Equal(a.Policies, []string{"default", "dev"}) {
		t.Errorf("auth %+v", a)
	}
	f.clock.Add(30 * time.Minute)
	resp := f.mustDo(logical.UpdateOperation, "renew-self", a.ClientToken, map[string]any{"increment": "3h"})
	if resp.Auth.LeaseDuration != 5400 {
		t.Errorf("login token renewed past the method's max: %d", resp.Auth.LeaseDuration)
	}
}

func BenchmarkLookupCacheHit(b *testing.B) {
	s, err := Open(b.Context(), newBenchStore(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := s.Create(b.Context(), &Entry{Policies: []string{"a", "default"}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Lookup(ctx, e.ID); err != nil {
			b.Fatal(err)
		}
	}
}
