package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// This file is *when* to fetch again. A Watcher keeps one goroutine per
// dependency and a cache of the latest answers: static secrets are re-read
// every Interval; leased secrets (dynamic credentials, anything with a
// lease ID) are renewed through sys/leases/renew at about two thirds of
// their lease and fetched anew when renewal fails or the lease nears its
// maximum TTL. While the server is down, fetches back off exponentially.
// Renderers read only the cache; the watcher tells them when it changed.

// WatcherOptions tune a Watcher. Zero values take the defaults.
type WatcherOptions struct {
	// Interval between reads of a secret without a lease (default 5m, as
	// Vault Agent's static_secret_render_interval).
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed fetch
	// (defaults 250ms and 1m).
	MinBackoff, MaxBackoff time.Duration
	// Retries is how many consecutive failures of one dependency are
	// tolerated before Failed reports it; < 0 means never.
	Retries int
	Logger  *slog.Logger
}

// Watcher fetches dependencies and keeps them fresh.
type Watcher struct {
	client *api.Client
	opts   WatcherOptions
	log    *slog.Logger

	mu      sync.Mutex
	entries map[Dependency]*entry
	dirty   map[Dependency]bool
	changed chan struct{} // cap 1: "something in dirty"
	failed  chan error    // cap 1: a dependency exhausted its retries
}

type entry struct {
	secret *api.Secret
	err    error
	cancel context.CancelFunc
}

// NewWatcher returns a watcher fetching through client.
func NewWatcher(client *api.Client, opts WatcherOptions) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Minute
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(time.Minute, opts.MinBackoff)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		client:  client,
		opts:    opts,
		log:     log,
		entries: map[Dependency]*entry{},
		dirty:   map[Dependency]bool{},
		changed: make(chan struct{}, 1),
		failed:  make(chan error, 1),
	}
}

// FetchError names the dependency a fetch failed for.
type FetchError struct {
	Dep Dependency
	Err error
}

func (e *FetchError) Error() string { return e.Dep.String() + ": " + e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

// Fetch reads every dependency not yet cached, concurrently, once each,
// and returns their errors as *FetchError values joined.
func (w *Watcher) Fetch(ctx context.Context, deps []Dependency) error {
	errs := make([]error, len(deps))
	var wg sync.WaitGroup
	for i, d := range deps {
		if _, ok := w.Get(d); ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := fetch(ctx, w.client, d)
			if err != nil {
				errs[i] = &FetchError{Dep: d, Err: err}
				return
			}
			w.store(d, s, false)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Get returns the cached answer for d.
func (w *Watcher) Get(d Dependency) (*api.Secret, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[d]
	if !ok || e.secret == nil {
		return nil, false
	}
	return e.secret, true
}

// Watch keeps exactly deps fresh: it starts a goroutine for each new one
// (fetching at once unless Fetch already cached it) and stops those no
// longer named. Goroutines end with ctx.
func (w *Watcher) Watch(ctx context.Context, deps []Dependency) {
	want := make(map[Dependency]bool, len(deps))
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range deps {
		want[d] = true
		e, ok := w.entries[d]
		if !ok {
			e = &entry{}
			w.entries[d] = e
		}
		if e.cancel == nil {
			dctx, cancel := context.WithCancel(ctx)
			e.cancel = cancel
			go w.loop(dctx, d, e.secret)
		}
	}
	for d, e := range w.entries {
		if !want[d] {
			if e.cancel != nil {
				e.cancel()
			}
			delete(w.entries, d)
		}
	}
}

// Changed signals that TakeChanges has something.
func (w *Watcher) Changed() <-chan struct{} { return w.changed }

// Failed reports a dependency that failed more than Retries times in a row.
func (w *Watcher) Failed() <-chan error { return w.failed }

// TakeChanges returns the dependencies whose answer changed since the last
// call.
func (w *Watcher) TakeChanges() []Dependency {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Dependency, 0, len(w.dirty))
	for d := range w.dirty {
		out = append(out, d)
	}
	clear(w.dirty)
	return out
}

// store caches s for d and, when notify is set and the data differ from
// the cached answer, records the change.
func (w *Watcher) store(d Dependency, s *api.Secret, notify bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[d]
	if !ok {
		if notify {
			return // no longer watched
		}
		e = &entry{}
		w.entries[d] = e
	}
	old := e.secret
	e.secret, e.err = s, nil
	if notify && (old == nil || !reflect.DeepEqual(old.Data, s.Data)) {
		w.dirty[d] = true
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// loop keeps d fresh until ctx ends. have is an answer already cached.
func (w *Watcher) loop(ctx context.Context, d Dependency, have *api.Secret) {
	failures := 0
	s := have
	for {
		if s == nil {
			var err error
			s, err = fetch(ctx, w.client, d)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				failures++
				w.log.Warn("fetching secret failed", "path", d.String(), "attempt", failures, "error", err)
				if w.opts.Retries >= 0 && failures > w.opts.Retries {
					select {
					case w.failed <- &FetchError{Dep: d, Err: err}:
					default:
					}
				}
				if !sleep(ctx, backoff(failures, w.opts.MinBackoff, w.opts.MaxBackoff)) {
					return
				}
				continue
			}
			failures = 0
			w.store(d, s, true)
		}
		if !w.hold(ctx, d, s) {
			return
		}
		s = nil
	}
}

// hold waits until s must be fetched again: after Interval for a static
// secret; for a leased one, renewing it at two thirds of each lease until
// renewal fails or gives less than asked (the max TTL is near), then at
// two thirds of what is left. It returns false when ctx ended.
func (w *Watcher) hold(ctx context.Context, d Dependency, s *api.Secret) bool {
	if s.LeaseID == "" || s.LeaseDuration <= 0 {
		return sleep(ctx, jitter(w.opts.Interval))
	}
	ttl := time.Duration(s.LeaseDuration) * time.Second
	for {
		if !sleep(ctx, ttl*2/3) {
			return false
		}
		if !s.Renewable {
			return true
		}
		asked := s.LeaseDuration
		r, err := w.client.Sys().RenewWithContext(ctx, s.LeaseID, asked)
		if err != nil || r == nil {
			w.log.Info("lease renewal failed; fetching a new secret", "path", d.String(), "error", err)
			return ctx.Err() == nil
		}
		w.log.Debug("lease renewed", "path", d.String(), "ttl", r.LeaseDuration)
		ttl = time.Duration(r.LeaseDuration) * time.Second
		if r.LeaseDuration < asked {
			// Capped by the max TTL: use what is left, then fetch anew.
			return sleep(ctx, ttl*2/3)
		}
	}
}

// backoff is the wait after n consecutive failures: min·2^(n-1), capped.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return jitter(min(d, hi))
}

// jitter shortens d by up to a tenth so that many watchers spread out.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
