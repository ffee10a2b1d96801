package lease

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestRevokeCallsEngineOnce(t *testing.T) {
	ctx := context.Background()
	e := newEngine()
	m := open(t, newStore(), newClock(), e)
	l := register(t, m, "db/creds/r", "acc1", time.Hour, 0)

	// Concurrent revocations of one lease must reach the engine once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := m.Revoke(ctx, l.ID); err != nil {
				t.Errorf("Revoke: %v", err)
			}
		})
	}
	wg.Wait()
	if n := e.count(l.ID); n != 1 {
		t.Errorf("engine revoked the lease %d times, want 1", n)
	}
	if _, err := m.Lookup(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after Revoke = %v, want ErrNotFound", err)
	}
	if err := m.Revoke(ctx, "db/creds/r/unknown"); err != nil {
		t.Errorf("Revoke(unknown) = %v, want nil", err)
	}
	wantCount(t, m, 0, 0)
	if names, _ := m.s.List(ctx, tokenPrefix); len(names) != 0 {
		t.Errorf("token index left behind: %q", names)
	}
}

func TestRevokeEngineFailureKeepsLease(t *testing.T) {
	ctx := context.Background()
	e := newEngine()
	m := open(t, newStore(), newClock(), e)
	l := register(t, m, "db/creds/r", "", time.Hour, 0)
	e.setFail(true)
	if err := m.Revoke(ctx, l.ID); !errors.Is(err, errEngine) {
		t.Fatalf("Revoke = %v, want the engine's error", err)
	}
	if _, err := m.Lookup(ctx, l.ID); err != nil {
		t.Errorf("Lookup after failed Revoke: %v", err)
	}
	wantCount(t, m, 1, 0)
}

func TestRevokePrefix(t *testing.T) {
	tests := map[string]struct {
		prefix    string
		force     bool
		fail      bool
		wantErr   bool
		wantLeft  []string // paths of the leases that remain
		wantCalls int
	}{
		"mount":                    {prefix: "database/", wantLeft: []string{"aws/creds/r"}, wantCalls: 3},
		"role folder":              {prefix: "database/creds/app/", wantLeft: []string{"aws/creds/r", "database/creds/web"}, wantCalls: 2},
		"partial name":             {prefix: "database/creds/a", wantLeft: []string{"aws/creds/r", "database/creds/web"}, wantCalls: 2},
		"no match":                 {prefix: "nothing/", wantLeft: []string{"aws/creds/r", "database/creds/app", "database/creds/app", "database/creds/web"}},
		"engine fails":             {prefix: "database/", fail: true, wantErr: true, wantLeft: []string{"aws/creds/r", "database/creds/app", "database/creds/app", "database/creds/web"}, wantCalls: 1},
		"engine fails, with force": {prefix: "database/", fail: true, force: true, wantLeft: []string{"aws/creds/r"}, wantCalls: 3},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEngine()
			m := open(t, newStore(), newClock(), e)
			for _, p := range []string{"database/creds/app", "database/creds/app", "database/creds/web", "aws/creds/r"} {
				register(t, m, p, "", time.Hour, 0)
			}
			e.setFail(tt.fail)
			err := m.RevokePrefix(ctx, tt.prefix, tt.force)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RevokePrefix = %v, want error: %v", err, tt.wantErr)
			}
			if got := len(e.calls); got != tt.wantCalls {
				t.Errorf("engine called %d times, want %d", got, tt.wantCalls)
			}
			if got := remaining(t, m); !slices.Equal(got, tt.wantLeft) {
				t.Errorf("left %q, want %q", got, tt.wantLeft)
			}
			wantCount(t, m, len(tt.wantLeft), 0)
		})
	}
	t.Run("empty prefix refused", func(t *testing.T) {
		m := open(t, newStore(), newClock(), newEngine())
		if err := m.RevokePrefix(context.Background(), "", true); !errors.Is(err, ErrInvalid) {
			t.Errorf("RevokePrefix(\"\") = %v, want ErrInvalid", err)
		}
	})
}

func TestRevokeByToken(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	e := newEngine()
	m := open(t, newStore(), c, e)
	mine1 := register(t, m, "db/creds/r", "tok/1", time.Hour, 0) // "/" in an accessor is escaped
	mine2 := register(t, m, "aws/creds/r", "tok/1", time.Hour, 0)
	other := register(t, m, "db/creds/r", "tok2", time.Hour, 0)

	if err := m.RevokeByToken(ctx, "tok/1"); err != nil {
		t.Fatalf("RevokeByToken: %v", err)
	}
	for _, l := range []*Lease{mine1, mine2} {
		if e.count(l.ID) != 1 {
			t.Errorf("lease %s revoked %d times, want 1", l.ID, e.count(l.ID))
		}
	}
	if _, err := m.Lookup(ctx, other.ID); err != nil {
		t.Errorf("other token's lease: %v", err)
	}
	wantCount(t, m, 1, 0)

	t.Run("engine failure hands the lease to the loop", func(t *testing.T) {
		e.setFail(true)
		if err := m.RevokeByToken(ctx, "tok2"); err != nil {
			t.Fatalf("RevokeByToken: %v", err)
		}
		l, err := m.Lookup(ctx, other.ID)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if l.RevokeAttempts != 1 || !l.NextAttempt.Equal(c.Now().Add(time.Second)) {
			t.Errorf("attempts %d, next attempt %v; want 1 and now+1s", l.RevokeAttempts, l.NextAttempt)
		}
		e.setFail(false)
		c.advance(time.Second)
		if _, err := m.scan(ctx); err != nil {
			t.Fatalf("scan: %v", err)
		}
		if e.count(other.ID) != 1 {
			t.Errorf("loop did not revoke the queued lease")
		}
		wantCount(t, m, 0, 0)
	})
}

// remaining lists the paths of the stored leases, sorted.
func remaining(t *testing.T, m *Manager) []string {
	t.Helper()
	ids, err := m.idsWithPrefix(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, id := range ids {
		l, err := m.Lookup(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, l.Path)
	}
	sort.Strings(paths)
	return paths
}
