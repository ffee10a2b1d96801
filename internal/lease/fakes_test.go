package lease

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// clock is an injectable clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// engine records revocations and fails them while fail is set.
type engine struct {
	mu      sync.Mutex
	revoked map[string]int
	fail    bool
	calls   chan string
}

var errEngine = errors.New("engine unavailable")

func newEngine() *engine {
	return &engine{revoked: map[string]int{}, calls: make(chan string, 1000)}
}

func (e *engine) revoke(_ context.Context, l *Lease) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls <- l.ID
	if e.fail {
		return errEngine
	}
	e.revoked[l.ID]++
	return nil
}

func (e *engine) setFail(fail bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = fail
}

func (e *engine) count(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.revoked[id]
}

// open opens a manager over s with the fake clock c and engine e.
func open(t testing.TB, s storage.Store, c *clock, e *engine) *Manager {
	t.Helper()
	opts := Options{Revoke: e.revoke}
	if c != nil {
		opts.Now = c.Now
	}
	m, err := Open(context.Background(), s, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m
}

// register registers a renewable lease below path with the given TTLs.
func register(t testing.TB, m *Manager, path, token string, ttl, maxTTL time.Duration) *Lease {
	t.Helper()
	l := &Lease{Path: path, MountAccessor: "mount_1", TokenAccessor: token, TTL: ttl, MaxTTL: maxTTL, Renewable: true}
	if _, err := m.Register(context.Background(), l); err != nil {
		t.Fatalf("Register(%s): %v", path, err)
	}
	return l
}

func newStore() storage.Store { return inmem.New() }

func wantCount(t *testing.T, m *Manager, total, irrevocable int) {
	t.Helper()
	if gt, gi := m.Count(); gt != total || gi != irrevocable {
		t.Errorf("Count() = %d, %d; want %d, %d", gt, gi, total, irrevocable)
	}
}
