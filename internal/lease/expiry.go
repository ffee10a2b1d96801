package lease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// maxSleep bounds the loop's sleep, so that an injected clock that jumps
// ahead, or a lease due before the planned wake-up, is noticed within a
// second even without a nudge.
const maxSleep = time.Second

// maxBackoff caps the delay between revocation attempts.
const maxBackoff = time.Hour

// revokeWorkers is how many revocations of one due bucket run at once, so
// that a slow engine does not delay the leases due with it.
const revokeWorkers = 16

// Start runs the expiry loop until ctx ends or Stop is called. Calling it
// on a running manager does nothing.
func (m *Manager) Start(ctx context.Context) {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	if m.cancel != nil {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go m.run(ctx, m.done)
}

// Stop stops the expiry loop and waits for it, including revocations in
// flight (their context is cancelled).
func (m *Manager) Stop() {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cancel, m.done = nil, nil
	m.wakeAt.Store(0)
}

func (m *Manager) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Plan the wake-up before scanning, so that a lease registered
		// during the scan nudges the loop.
		m.wakeAt.Store(m.opts.Now().Add(maxSleep).UnixNano())
		next, err := m.scan(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.opts.Logger.Error("lease: expiry scan failed", "error", err)
		}
		now := m.opts.Now()
		sleep := maxSleep
		if !next.IsZero() {
			sleep = max(0, min(sleep, next.Sub(now)))
		}
		m.wakeAt.Store(now.Add(sleep).UnixNano())
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.wake:
			// Reset above needs no drained timer (Go 1.23+ timers).
		}
	}
}

// scan handles every due bucket of the index, earliest first, and returns
// when the next bucket falls due (zero if the index is empty).
func (m *Manager) scan(ctx context.Context) (next time.Time, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		bucket, at, names, err := m.duePage(ctx, m.opts.Now())
		if err != nil || names == nil {
			return at, err
		}
		if err := m.expireAll(ctx, bucket, names); err != nil {
			// The bucket may not be empty: return rather than spin.
			return time.Time{}, err
		}
	}
}

// duePage finds the earliest bucket of the due index. It returns its
// prefix, its time and, when it is due at now, the names in it (escaped
// lease IDs); names is nil when nothing is due. It costs five List calls of
// at most a few hundred names, plus the due bucket itself.
func (m *Manager) duePage(ctx context.Context, now time.Time) (bucket string, at time.Time, names []string, err error) {
	prefix := expPrefix
	for range 5 { // day, hour, minute, second.tenth, then the leases
		list, err := m.s.List(ctx, prefix)
		if err != nil {
			return "", time.Time{}, nil, fmt.Errorf("list due index %q: %w", prefix, err)
		}
		if len(list) == 0 {
			return "", time.Time{}, nil, nil // empty (or emptied meanwhile)
		}
		if prefix != expPrefix && strings.Count(prefix, "/") == 5 {
			at, err := parseBucket(prefix)
			if err != nil {
				return "", time.Time{}, nil, err
			}
			if at.After(now) {
				return prefix, at, nil, nil
			}
			return prefix, at, list, nil
		}
		if !strings.HasSuffix(list[0], "/") {
			return "", time.Time{}, nil, fmt.Errorf("unexpected due index entry %q", prefix+list[0])
		}
		prefix += list[0]
	}
	return "", time.Time{}, nil, fmt.Errorf("due index deeper than expected at %q", prefix)
}

// expireAll revokes the leases named in one due bucket, a few at a time.
func (m *Manager) expireAll(ctx context.Context, bucket string, names []string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, revokeWorkers)
	)
	for _, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := m.expire(ctx, bucket+name, unescape(name)); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// expire handles one due index entry: it revokes the lease, or counts a
// failed attempt, or drops the entry if it points nowhere.
func (m *Manager) expire(ctx context.Context, key, id string) error {
	unlock := m.locks.lock(id)
	defer unlock()
	l, err := readLease(ctx, m.s, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if l == nil || l.Irrevocable || expKey(l) != key {
		// Stale: every change moves the entry in the same transaction
		// as the lease, so this only follows a partial manual edit.
		if err := m.s.Delete(ctx, key); err != nil {
			return fmt.Errorf("drop stale due entry %q: %w", key, err)
		}
		return nil
	}
	if err := m.callRevoke(ctx, l); err != nil {
		if ctx.Err() != nil {
			return nil // stopping; the lease stays due
		}
		return m.failed(ctx, l, err)
	}
	// The engine has revoked: record it even if Stop cancels ctx now,
	// rather than revoke again after a restart.
	return m.save(context.WithoutCancel(ctx), l, nil)
}

// failed records a failed revocation of l: it is retried after a backoff
// that doubles each time, until MaxRevokeAttempts failures make it
// irrevocable.
func (m *Manager) failed(ctx context.Context, l *Lease, cause error) error {
	next := l.clone()
	next.RevokeAttempts++
	next.LastError = cause.Error()
	if next.RevokeAttempts >= m.opts.MaxRevokeAttempts {
		next.Irrevocable = true
		next.NextAttempt = time.Time{}
		m.opts.Logger.Error("lease: giving up revoking, lease is now irrevocable",
			"lease_id", l.ID, "attempts", next.RevokeAttempts, "error", cause)
	} else {
		next.NextAttempt = m.opts.Now().Add(backoff(next.RevokeAttempts)).Round(0)
		m.opts.Logger.Warn("lease: revocation failed, will retry",
			"lease_id", l.ID, "attempts", next.RevokeAttempts, "retry_at", next.NextAttempt, "error", cause)
	}
	if err := m.save(ctx, l, next); err != nil {
		return fmt.Errorf("record failed revocation of %q: %w", l.ID, err)
	}
	return nil
}

// backoff is the wait after the n-th failed attempt: 1s, 2s, 4s ... 1h.
func backoff(n int) time.Duration {
	if n > 12 { // 2^12 s > 1 h already
		return maxBackoff
	}
	return min(time.Second<<(n-1), maxBackoff)
}
