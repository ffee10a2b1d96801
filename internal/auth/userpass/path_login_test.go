package userpass

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestLogin(t *testing.T) {
	b := newTestBackend(t, nil)
	b.must(t, logical.CreateOperation, "users/alice", map[string]any{
		"password": "pw", "token_policies": "a,b", "token_ttl": "30m", "token_period": "1h",
		"token_bound_cidrs": "10.1.0.0/16", "token_num_uses": 2, "token_explicit_max_ttl": "2h",
	})
	b.must(t, logical.CreateOperation, "users/nodef", map[string]any{"password": "pw", "token_policies": "a", "token_no_default_policy": true})

	resp := b.must(t, logical.UpdateOperation, "login/ALICE", map[string]any{"password": "pw"})
	a := resp.Auth
	if a == nil {
		t.Fatal("login answered no auth")
	}
	if !slices.Equal(a.Policies, []string{"a", "b"}) || a.TokenPolicies != nil {
		t.Errorf("policies %v token_policies %v, want [a b] and nil (core adds default)", a.Policies, a.TokenPolicies)
	}
	if a.DisplayName != "alice" || a.Alias != "alice" || a.Metadata["username"] != "alice" || !a.Renewable {
		t.Errorf("identity: %+v", a)
	}
	if a.TTL != 30*time.Minute || a.Period != time.Hour || a.MaxTTL != 2*time.Hour || a.NumUses != 2 || !slices.Equal(a.BoundCIDRs, []string{"10.1.0.0/16"}) {
		t.Errorf("token settings: %+v", a)
	}

	resp = b.must(t, logical.UpdateOperation, "login/nodef", map[string]any{"password": "pw"})
	if !slices.Equal(resp.Auth.TokenPolicies, []string{"a"}) {
		t.Errorf("no_default_policy: token_policies %v, want [a]", resp.Auth.TokenPolicies)
	}

	if got := b.SpecialPaths().Unauthenticated; !slices.Equal(got, []string{"login", "login/*"}) {
		t.Errorf("unauthenticated paths %v", got)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	b := newTestBackend(t, nil)
	b.must(t, logical.CreateOperation, "users/alice", map[string]any{"password": "pw"})
	tests := map[string]struct {
		path string
		data map[string]any
		msg  string
	}{
		"unknown user":     {path: "login/mallory", data: map[string]any{"password": "pw"}, msg: "invalid username or password"},
		"wrong password":   {path: "login/alice", data: map[string]any{"password": "nope"}, msg: "invalid username or password"},
		"missing password": {path: "login/alice", data: map[string]any{}, msg: "missing password"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := b.do(t, logical.UpdateOperation, tc.path, tc.data)
			wantError(t, err, 400, tc.msg)
		})
	}
}

// TestLoginCostsOneComparison checks that an unknown user costs a bcrypt
// comparison at the users' cost, exactly like a wrong password, so the two
// answers take the same time. It observes the comparisons rather than
// timing them, which a busy machine would make flaky.
func TestLoginCostsOneComparison(t *testing.T) {
	b := newTestBackend(t, nil)
	b.cost = bcrypt.MinCost + 1
	b.SetLockout(LockoutConfig{Disable: true})
	b.must(t, logical.CreateOperation, "users/alice", map[string]any{"password": "pw"})
	var costs []int
	b.compare = func(hash, pw []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Fatalf("compared against a non-bcrypt hash: %v", err)
		}
		costs = append(costs, c)
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	for name, path := range map[string]string{"unknown user": "login/mallory", "wrong password": "login/alice"} {
		costs = nil
		_, err := b.do(t, logical.UpdateOperation, path, map[string]any{"password": "guess"})
		wantError(t, err, 400, "invalid username or password")
		if len(costs) != 1 || costs[0] != b.cost {
			t.Errorf("%s: bcrypt comparisons at costs %v; want exactly one at cost %d", name, costs, b.cost)
		}
	}
}

func TestLockout(t *testing.T) {
	b := newTestBackend(t, nil)
	b.must(t, logical.CreateOperation, "users/bob", map[string]any{"password": "right"})
	login := func(name, pw string) error {
		_, err := b.do(t, logical.UpdateOperation, "login/"+name, map[string]any{"password": pw})
		return err
	}

	// Five failures under different spellings share one counter.
	for _, name := range []string{"bob", "Bob", "BOB", " bob ", "bOb"} {
		wantError(t, login(name, "wrong"), 400, "invalid username or password")
		b.clock = b.clock.Add(time.Minute)
	}
	wantError(t, login("bob", "right"), 403, "permission denied")
	locked := b.LockedUsers()
	if len(locked) != 1 || locked[0].Name != "bob" || locked[0].FailedAttempts != 5 {
		t.Fatalf("LockedUsers = %+v", locked)
	}

	b.Unlock("BOB")
	if err := login("bob", "right"); err != nil {
		t.Fatalf("login after unlock: %v", err)
	}
	if got := b.LockedUsers(); len(got) != 0 {
		t.Fatalf("LockedUsers after unlock = %+v", got)
	}

	// The lockout ends by itself after lockout_duration.
	for range 5 {
		_ = login("bob", "wrong")
	}
	b.clock = b.clock.Add(DefaultLockoutDuration - time.Second)
	wantError(t, login("bob", "right"), 403, "permission denied")
	b.clock = b.clock.Add(2 * time.Second)
	if err := login("bob", "right"); err != nil {
		t.Fatalf("login after lockout expiry: %v", err)
	}

	// Failures further apart than lockout_counter_reset never add up.
	for range 10 {
		wantError(t, login("bob", "wrong"), 400, "invalid username or password")
		b.clock = b.clock.Add(DefaultLockoutCounterReset)
	}
	if err := login("bob", "right"); err != nil {
		t.Fatalf("login after spaced failures: %v", err)
	}

	// Unknown users are counted too, so lockout tells nothing about existence.
	for range 5 {
		_ = login("ghost", "x")
	}
	wantError(t, login("ghost", "x"), 403, "permission denied")
}

func TestLockoutConfig(t *testing.T) {
	tests := map[string]struct {
		opts     map[string]string
		failures int
		locked   bool
	}{
		"threshold from options": {opts: map[string]string{"lockout_threshold": "2"}, failures: 2, locked: true},
		"below threshold":        {opts: map[string]string{"lockout_threshold": "3"}, failures: 2, locked: false},
		"disabled":               {opts: map[string]string{"lockout_disable": "true"}, failures: 20, locked: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newTestBackend(t, tc.opts)
			b.must(t, logical.CreateOperation, "users/u", map[string]any{"password": "p"})
			for range tc.failures {
				_, _ = b.do(t, logical.UpdateOperation, "login/u", map[string]any{"password": "bad"})
			}
			_, err := b.do(t, logical.UpdateOperation, "login/u", map[string]any{"password": "p"})
			if locked := err != nil; locked != tc.locked {
				t.Fatalf("locked = %v (err %v), want %v", locked, err, tc.locked)
			}
		})
	}
	if _, err := Factory(t.Context(), &logical.BackendConfig{Options: map[string]string{"lockout_duration": "soon"}}); err == nil {
		t.Error("Factory accepted a bad lockout_duration")
	}
}
