// Package quota enforces Vault's rate limit quotas: token buckets applied
// per client IP address, to the whole API (a rule with an empty path), a
// mount ("secret/") or a path below it ("secret/data/app", or a prefix
// ending in "*"). The most specific matching rule wins. Rules are stored,
// buckets are in memory and per node, as in Vault.
package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Rule is one rate limit quota.
type Rule struct {
	Name string `json:"name"`
	// Path is "" (global), a mount path, or a path below a mount,
	// optionally ending in "*" for a prefix.
	Path string `json:"path"`
	// Rate is how many requests a client may make per Interval.
	Rate     float64       `json:"rate"`
	Interval time.Duration `json:"interval"`
	// BlockInterval, when set, blocks a client that hit the limit for that
	// long.
	BlockInterval time.Duration `json:"block_interval"`
}

// Config is sys/quotas/config: how quotas show themselves.
type Config struct {
	// ExemptPaths are request paths no quota applies to: exact, or a
	// prefix when they end in "*" ("sys/health", "auth/approle/*").
	ExemptPaths []string `json:"rate_limit_exempt_paths"`
	// AuditRejected makes the core audit requests a quota refuses.
	AuditRejected bool `json:"enable_rate_limit_audit_logging"`
	// ResponseHeaders makes responses carry X-Ratelimit-Limit, -Remaining
	// and -Reset when a quota applies.
	ResponseHeaders bool `json:"enable_rate_limit_response_headers"`
}

// configKey is where Config is stored; rule names hold no "/".
const configKey = "config/quotas"

// Decision is the outcome of one request against the quotas.
type Decision struct {
	Allowed bool
	// Applied reports that a rule applied; the figures below are its.
	Applied bool
	// Limit is the rule's rate, Remaining what the client has left of it,
	// Reset when its bucket is full again.
	Limit, Remaining uint64
	Reset            time.Time
	// RetryAfter tells a refused client when to come back.
	RetryAfter time.Duration
	// ResponseHeaders and AuditRejected are the Config switches in force.
	ResponseHeaders, AuditRejected bool
}

// ErrInvalidConfig is returned by SetConfig for a value it refuses.
var ErrInvalidConfig = errors.New("invalid quota configuration")

// ErrNotFound is returned by Get for an unknown rule.
var ErrNotFound = errors.New("quota not found")

// maxClients bounds the buckets kept per rule; past it, idle buckets are
// dropped (a full bucket carries no state worth keeping).
const maxClients = 100000

type bucket struct {
	tokens       float64
	last         time.Time
	blockedUntil time.Time
}

type limiter struct {
	rule    Rule
	mu      sync.Mutex
	clients map[string]*bucket
}

// Manager holds the rules and their buckets. It is safe for concurrent use.
type Manager struct {
	store storage.Store
	now   func() time.Time

	mu     sync.RWMutex
	rules  map[string]*limiter
	config Config
	// active is the rule count, read without locking on the hot path.
	active atomic.Int32
}

// Open loads the rules stored in store.
func Open(ctx context.Context, store storage.Store) (*Manager, error) {
	m := &Manager{store: store, now: time.Now, rules: map[string]*limiter{}}
	names, err := store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	if e, err := store.Get(ctx, configKey); err == nil {
		if err := json.Unmarshal(e.Value, &m.config); err != nil {
			return nil, fmt.Errorf("decode quota config: %w", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("read quota config: %w", err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			continue
		}
		e, err := store.Get(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("read quota %q: %w", n, err)
		}
		var r Rule
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("decode quota %q: %w", n, err)
		}
		m.rules[r.Name] = &limiter{rule: r, clients: map[string]*bucket{}}
	}
	m.active.Store(int32(len(m.rules)))
	return m, nil
}

// Validate checks a rule's values.
func (r *Rule) Validate() error {
	switch {
	case r.Name == "" || strings.ContainsAny(r.Name, "/\x00"):
		return errors.New("invalid quota name")
	case r.Rate <= 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0):
		return errors.New("rate must be positive")
	case r.Interval < 0 || r.BlockInterval < 0:
		return errors.New("intervals cannot be negative")
	case strings.Contains(strings.TrimSuffix(r.Path, "*"), "*"):
		return errors.New("a glob is only allowed at the end of the path")
	}
	if r.Interval == 0 {
		r.Interval = time.Second
	}
	r.Path = strings.TrimPrefix(r.Path, "/")
	return nil
}

// Put stores a rule, replacing one of the same name (and its buckets).
func (m *Manager) Put(ctx context.Context, r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.Put(ctx, &storage.Entry{Key: r.Name, Value: raw}); err != nil {
		return fmt.Errorf("store quota: %w", err)
	}
	m.rules[r.Name] = &limiter{rule: r, clients: map[string]*bucket{}}
	m.active.Store(int32(len(m.rules)))
	return nil
}

// Get returns a rule by name.
func (m *Manager) Get(name string) (Rule, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l, ok := m.rules[name]
	if !ok {
		return Rule{}, ErrNotFound
	}
	return l.rule, nil
}

// Delete removes a rule; a missing one is not an error.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.Delete(ctx, name); err != nil {
		return fmt.Errorf("delete quota: %w", err)
	}
	delete(m.rules, name)
	m.active.Store(int32(len(m.rules)))
	return nil
}

// Config returns the quota configuration.
func (m *Manager) Config() Config {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := m.config
	c.ExemptPaths = append([]string{}, c.ExemptPaths...)
	return c
}

// SetConfig stores the quota configuration.
func (m *Manager) SetConfig(ctx context.Context, c Config) error {
	c.ExemptPaths = append([]string{}, c.ExemptPaths...)
	for i, p := range c.ExemptPaths {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "/"), "v1/")
		if p == "" || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			return fmt.Errorf("%w: exempt path %q", ErrInvalidConfig, c.ExemptPaths[i])
		}
		c.ExemptPaths[i] = p
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.Put(ctx, &storage.Entry{Key: configKey, Value: raw}); err != nil {
		return fmt.Errorf("store quota config: %w", err)
	}
	m.config = c
	return nil
}

// exempt reports whether path is one of the configured exempt paths.
// Called with m.mu held.
func (m *Manager) exempt(path string) bool {
	for _, p := range m.config.ExemptPaths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if path == p || path == p+"/" {
			return true
		}
	}
	return false
}

// List returns the rule names, sorted.
func (m *Manager) List() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.rules))
	for n := range m.rules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// matches reports whether rule path p applies to request path, and how
// specific it is (longer is more specific).
func matches(p, path string) (bool, int) {
	switch {
	case p == "":
		return true, 0
	case strings.HasSuffix(p, "*"):
		prefix := strings.TrimSuffix(p, "*")
		return strings.HasPrefix(path, prefix), len(prefix)
	case strings.HasSuffix(p, "/"):
		return strings.HasPrefix(path, p) || path+"/" == p, len(p)
	}
	// A path without a trailing slash is a mount ("secret") or an exact
	// API path ("secret/data/app").
	return path == p || strings.HasPrefix(path, p+"/"), len(p) + 1
}

// Allow takes one request of client (an IP address) to path from the most
// specific matching rule's bucket. When refused it says how long to wait.
func (m *Manager) Allow(path, client string) (bool, time.Duration) {
	d := m.Take(path, client)
	return d.Allowed, d.RetryAfter
}

// Take is Allow with the figures of the rule that applied.
func (m *Manager) Take(path, client string) Decision {
	if m == nil || m.active.Load() == 0 {
		return Decision{Allowed: true}
	}
	m.mu.RLock()
	if m.exempt(path) {
		m.mu.RUnlock()
		return Decision{Allowed: true}
	}
	var best *limiter
	bestLen := -1
	for _, l := range m.rules {
		if ok, n := matches(l.rule.Path, path); ok && n > bestLen {
			best, bestLen = l, n
		}
	}
	headers, audit := m.config.ResponseHeaders, m.config.AuditRejected
	m.mu.RUnlock()
	if best == nil {
		return Decision{Allowed: true}
	}
	d := best.take(client, m.now())
	d.ResponseHeaders, d.AuditRejected = headers, audit
	return d
}

func (l *limiter) take(client string, now time.Time) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rule
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= maxClients {
			l.sweep(now)
		}
		b = &bucket{tokens: r.Rate, last: now}
		l.clients[client] = b
	}
	perSecond := r.Rate / r.Interval.Seconds()
	d := Decision{Applied: true, Limit: uint64(math.Ceil(r.Rate))}
	if now.Before(b.blockedUntil) {
		d.RetryAfter, d.Reset = b.blockedUntil.Sub(now), b.blockedUntil
		return d
	}
	b.tokens = math.Min(r.Rate, b.tokens+now.Sub(b.last).Seconds()*perSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		d.Allowed = true
	} else {
		d.RetryAfter = time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
		if r.BlockInterval > 0 {
			b.blockedUntil = now.Add(r.BlockInterval)
			d.RetryAfter = r.BlockInterval
		}
	}
	d.Remaining = uint64(math.Max(b.tokens, 0))
	d.Reset = now.Add(time.Duration((r.Rate - b.tokens) / perSecond * float64(time.Second)))
	if !d.Allowed && d.Reset.Before(now.Add(d.RetryAfter)) {
		d.Reset = now.Add(d.RetryAfter)
	}
	return d
}

// sweep drops buckets that have refilled completely and are not blocked.
func (l *limiter) sweep(now time.Time) {
	full := l.rule.Interval
	for c, b := range l.clients {
		if now.Sub(b.last) > full && now.After(b.blockedUntil) {
			delete(l.clients, c)
		}
	}
}
