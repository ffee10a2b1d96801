package userpass

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/parse"
)

// Vault's lockout defaults.
const (
	DefaultLockoutThreshold    = 5
	DefaultLockoutDuration     = 15 * time.Minute
	DefaultLockoutCounterReset = 15 * time.Minute
)

// maxTracked bounds the failure counters kept in memory: beyond it, stale
// counters are swept before a new one is added, so guessing random names
// cannot grow memory without bound.
const maxTracked = 10000

// LockoutConfig is a mount's user lockout policy. Zero values take
// Vault's defaults.
type LockoutConfig struct {
	// Threshold is the number of failed logins that locks a user out.
	Threshold int
	// Duration is how long a locked-out user stays locked.
	Duration time.Duration
	// CounterReset is how long after the last failure the counter
	// starts again from zero.
	CounterReset time.Duration
	// Disable turns lockout off.
	Disable bool
}

func (c LockoutConfig) withDefaults() LockoutConfig {
	if c.Threshold <= 0 {
		c.Threshold = DefaultLockoutThreshold
	}
	if c.Duration <= 0 {
		c.Duration = DefaultLockoutDuration
	}
	if c.CounterReset <= 0 {
		c.CounterReset = DefaultLockoutCounterReset
	}
	return c
}

// LockedUser describes one locked-out user, for sys/locked-users.
type LockedUser struct {
	// Name is the normalised user name (the alias Vault reports).
	Name           string
	FailedAttempts int
	LastFailed     time.Time
	LockedUntil    time.Time
}

// failures is the failed-login state of one user name.
type failures struct {
	count       int
	last        time.Time
	lockedUntil time.Time
}

// lockout counts failed logins per normalised name. It lives in memory.
type lockout struct {
	mu    sync.Mutex
	cfg   LockoutConfig
	users map[string]*failures
}

func newLockout(cfg LockoutConfig) *lockout {
	return &lockout{cfg: cfg.withDefaults(), users: make(map[string]*failures)}
}

// locked reports whether name is locked out at now.
func (l *lockout) locked(name string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Disable {
		return false
	}
	f := l.users[name]
	return f != nil && now.Before(f.lockedUntil)
}

// fail records a failed login of name at now.
func (l *lockout) fail(name string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Disable {
		return
	}
	f := l.users[name]
	if f != nil && l.stale(f, now) {
		f = nil
	}
	if f == nil {
		if len(l.users) >= maxTracked {
			l.sweep(now)
		}
		f = &failures{}
		l.users[name] = f
	}
	f.count++
	f.last = now
	if f.count >= l.cfg.Threshold {
		f.lockedUntil = now.Add(l.cfg.Duration)
	}
}

// stale reports whether f no longer counts: not locked, and its last
// failure older than the counter reset.
func (l *lockout) stale(f *failures, now time.Time) bool {
	return !now.Before(f.lockedUntil) && now.Sub(f.last) >= l.cfg.CounterReset
}

func (l *lockout) sweep(now time.Time) {
	for name, f := range l.users {
		if l.stale(f, now) {
			delete(l.users, name)
		}
	}
}

// unlock forgets the failures of name: after a successful login, an
// administrator's unlock or the user's deletion.
func (l *lockout) unlock(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, name)
}

func (l *lockout) list(now time.Time) []LockedUser {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LockedUser
	for name, f := range l.users {
		if now.Before(f.lockedUntil) {
			out = append(out, LockedUser{Name: name, FailedAttempts: f.count, LastFailed: f.last, LockedUntil: f.lockedUntil})
		}
	}
	slices.SortFunc(out, func(a, b LockedUser) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (l *lockout) set(cfg LockoutConfig) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg.withDefaults()
}

func (l *lockout) config() LockoutConfig {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// LockedUsers returns the users locked out now, sorted by name.
func (b *Backend) LockedUsers() []LockedUser { return b.lockout.list(b.now()) }

// LockedAliases names the locked-out users, sorted, for sys/locked-users.
func (b *Backend) LockedAliases() []string {
	var out []string
	for _, u := range b.LockedUsers() {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

// Unlock lifts the lockout of a user and resets its failure counter. The
// name is normalised like a login's, so any spelling of it works.
func (b *Backend) Unlock(name string) { b.lockout.unlock(normalize(name)) }

// SetLockout replaces the lockout policy (the mount's user_lockout_config
// tune); zero values take Vault's defaults. Existing counters are kept.
func (b *Backend) SetLockout(cfg LockoutConfig) { b.lockout.set(cfg) }

// Lockout returns the lockout policy in force, defaults filled in.
func (b *Backend) Lockout() LockoutConfig { return b.lockout.config() }

// lockoutFromOptions reads the lockout settings of a mount's options.
func lockoutFromOptions(opts map[string]string) (LockoutConfig, error) {
	var cfg LockoutConfig
	if v, ok := opts["lockout_threshold"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("userpass: option lockout_threshold: want a non-negative integer")
		}
		cfg.Threshold = n
	}
	for key, dst := range map[string]*time.Duration{"lockout_duration": &cfg.Duration, "lockout_counter_reset": &cfg.CounterReset} {
		v, ok := opts[key]
		if !ok {
			continue
		}
		d, err := parse.NonNegativeDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("userpass: option %s: %w", key, err)
		}
		*dst = d
	}
	if v, ok := opts["lockout_disable"]; ok {
		d, err := parse.Bool(v)
		if err != nil {
			return cfg, fmt.Errorf("userpass: option lockout_disable: want true or false")
		}
		cfg.Disable = d
	}
	return cfg, nil
}
