package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

func TestExpiryLoopRevokesOnTime(t *testing.T) {
	ctx := context.Background()
	e := newEngine()
	m := open(t, newStore(), nil, e) // real clock
	m.Start(ctx)
	defer m.Stop()
	time.Sleep(50 * time.Millisecond) // let the loop settle into its sleep

	long := register(t, m, "db/creds/r", "", time.Hour, 0)
	l := register(t, m, "db/creds/r", "", time.Second, 0)
	select {
	case id := <-e.calls:
		late := time.Since(l.ExpireTime)
		if id != l.ID {
			t.Fatalf("revoked %s, want %s", id, l.ID)
		}
		if late < 0 || late > time.Second {
			t.Errorf("revoked %v after expiry, want within [0, 1s]", late)
		}
		t.Logf("revoked %v after expiry", late)
	case <-time.After(3 * time.Second):
		t.Fatal("lease not revoked within 2s of expiry")
	}
	m.Stop() // waits for the loop to finish deleting
	if _, err := m.Lookup(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after expiry = %v, want ErrNotFound", err)
	}
	if _, err := m.Lookup(ctx, long.ID); err != nil {
		t.Errorf("unexpired lease: %v", err)
	}
	wantCount(t, m, 1, 0)
}

func TestBackoffThenIrrevocable(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	e := newEngine()
	e.setFail(true)
	m := open(t, newStore(), c, e)
	l := register(t, m, "db/creds/r", "acc", time.Minute, 0)

	scan := func() {
		t.Helper()
		if _, err := m.scan(ctx); err != nil {
			t.Fatalf("scan: %v", err)
		}
	}
	scan()
	if len(e.calls) != 0 {
		t.Fatal("revoked before expiry")
	}
	c.advance(time.Minute)
	// Attempts at expiry, then after 1s, 2s, 4s, 8s and 16s.
	for attempt, wait := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second} {
		c.advance(wait - time.Millisecond)
		if wait > 0 {
			scan()
			if n := len(e.calls); n != attempt {
				t.Fatalf("attempt %d ran %v early (%d calls)", attempt+1, time.Millisecond, n)
			}
		}
		c.advance(time.Millisecond)
		scan()
		if n := len(e.calls); n != attempt+1 {
			t.Fatalf("after attempt %d: %d engine calls", attempt+1, n)
		}
	}
	wantCount(t, m, 1, 1)
	got, err := m.Irrevocable(ctx)
	if err != nil {
		t.Fatalf("Irrevocable: %v", err)
	}
	if len(got) != 1 || got[0].ID != l.ID || got[0].RevokeAttempts != 6 || got[0].LastError != errEngine.Error() {
		t.Fatalf("Irrevocable = %+v, want the lease after 6 attempts", got)
	}
	c.advance(48 * time.Hour)
	scan()
	if n := len(e.calls); n != 6 {
		t.Errorf("irrevocable lease retried: %d calls", n)
	}

	// An operator's revoke still works once the engine recovers.
	e.setFail(false)
	if err := m.Revoke(ctx, l.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	wantCount(t, m, 0, 0)
	if names, _ := m.s.List(ctx, irrevocablePrefix); len(names) != 0 {
		t.Errorf("irrevocable index left behind: %q", names)
	}
}

func TestBackoff(t *testing.T) {
	tests := map[string]struct {
		attempt int
		want    time.Duration
	}{
		"first failure":      {1, time.Second},
		"second failure":     {2, 2 * time.Second},
		"sixth failure":      {6, 32 * time.Second},
		"twelfth failure":    {12, 2048 * time.Second},
		"thirteenth: capped": {13, time.Hour},
		"hundredth: capped":  {100, time.Hour},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := backoff(tt.attempt); got != tt.want {
				t.Errorf("backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestRestartKeepsLeases(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	e := newEngine()
	m1 := open(t, s, nil, e)
	var due []*Lease
	for range 3 {
		due = append(due, register(t, m1, "db/creds/r", "acc", time.Second, 0))
	}
	long := register(t, m1, "db/creds/r", "acc", time.Hour, 0)
	// m1 is abandoned without its loop ever running, as after a crash.

	m2 := open(t, s, nil, e)
	wantCount(t, m2, 4, 0)
	if _, err := m2.Lookup(ctx, long.ID); err != nil {
		t.Fatalf("Lookup after restart: %v", err)
	}
	m2.Start(ctx)
	defer m2.Stop()
	deadline := time.After(3 * time.Second)
	for range due {
		select {
		case <-e.calls:
		case <-deadline:
			t.Fatal("leases not revoked after restart")
		}
	}
	for _, l := range due {
		if e.count(l.ID) != 1 {
			t.Errorf("lease %s revoked %d times, want 1", l.ID, e.count(l.ID))
		}
	}
	// The lease is deleted just after the engine call returns.
	for start := time.Now(); time.Since(start) < time.Second; time.Sleep(10 * time.Millisecond) {
		if n, _ := m2.Count(); n == 1 {
			break
		}
	}
	wantCount(t, m2, 1, 0)
}

func TestStopIsIdempotent(t *testing.T) {
	m := open(t, newStore(), nil, newEngine())
	m.Stop()
	m.Start(context.Background())
	m.Start(context.Background())
	m.Stop()
	m.Stop()
}

func TestTidy(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := open(t, newStore(), c, newEngine())
	l := register(t, m, "db/creds/r", "acc", time.Hour, 0)
	stale := []string{
		bucketPrefix(bucketTime(c.Now())) + escape("db/creds/r/gone"),
		bucketPrefix(bucketTime(c.Now())) + escape(l.ID), // wrong bucket for l
		tokenPrefix + "acc/" + escape("db/creds/r/gone"),
		irrevocableKey(l.ID), // l is not irrevocable
	}
	for _, k := range stale {
		if err := m.s.Put(ctx, &storage.Entry{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Tidy(ctx); err != nil {
		t.Fatalf("Tidy: %v", err)
	}
	var left []string
	for _, p := range []string{expPrefix, tokenPrefix, irrevocablePrefix} {
		if err := storage.Walk(ctx, m.s, p, func(k string) error { left = append(left, k); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	want := indexKeys(l)
	if len(left) != len(want) || left[0] != want[0] || left[1] != want[1] {
		t.Errorf("index after Tidy = %q, want %q", left, want)
	}
}

func TestBucketKeys(t *testing.T) {
	tests := map[string]struct {
		due  time.Time
		want string
	}{
		"on a bucket edge":     {time.Date(2026, 1, 1, 13, 45, 7, 300e6, time.UTC), "exp/20260101/13/45/07.3/"},
		"just after an edge":   {time.Date(2026, 1, 1, 13, 45, 7, 300e6+1, time.UTC), "exp/20260101/13/45/07.4/"},
		"rounds into a minute": {time.Date(2026, 1, 1, 13, 45, 59, 950e6, time.UTC), "exp/20260101/13/46/00.0/"},
		"other time zone":      {time.Date(2026, 1, 1, 14, 45, 7, 300e6, time.FixedZone("CET", 3600)), "exp/20260101/13/45/07.3/"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := bucketPrefix(bucketTime(tt.due))
			if got != tt.want {
				t.Errorf("bucket = %q, want %q", got, tt.want)
			}
			at, err := parseBucket(got)
			if err != nil || at.Before(tt.due) || at.Sub(tt.due) >= bucketWidth {
				t.Errorf("parseBucket(%q) = %v, %v; want the bucket's end", got, at, err)
			}
		})
	}
	if id := "a/b%2F/c"; unescape(escape(id)) != id {
		t.Errorf("escape does not round-trip %q: %q", id, escape(id))
	}
}

func TestExpiryLoopWakesForShortLease(t *testing.T) {
	e := newEngine()
	m := open(t, newStore(), nil, e)
	m.Start(context.Background())
	defer m.Stop()
	time.Sleep(50 * time.Millisecond) // the loop is now asleep for ~1s

	// Due well before the loop's planned wake-up: Register must nudge it.
	l := register(t, m, "db/creds/r", "", 300*time.Millisecond, 0)
	select {
	case <-e.calls:
		if late := time.Since(l.ExpireTime); late < 0 || late > 500*time.Millisecond {
			t.Errorf("revoked %v after expiry, want about one 100 ms bucket", late)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("short lease not revoked")
	}
}
