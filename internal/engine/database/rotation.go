package database

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// rotationRetry is how long a failed scheduled rotation waits before the
// next attempt.
const rotationRetry = 10 * time.Second

// startRotation starts the loop that gives static roles new passwords
// when their rotation_period has passed. Everything it needs is in
// storage, so the schedule survives restarts: a role overdue at unseal is
// rotated on the first pass.
func (b *Backend) startRotation(s storage.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go func() {
		defer close(b.done)
		t := time.NewTicker(b.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.rotateDue(ctx, s)
			}
		}
	}()
}

// rotateDue rotates every static role that is due.
func (b *Backend) rotateDue(ctx context.Context, s storage.Store) {
	names, err := s.List(ctx, staticRolePrefix)
	if err != nil || len(names) == 0 {
		return
	}
	now := b.now()
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		r, err := loadStaticRole(ctx, s, name)
		if err != nil || r == nil || r.due().IsZero() || r.due().After(now) {
			continue
		}
		b.rotateScheduled(ctx, s, name)
	}
}

func (b *Backend) rotateScheduled(ctx context.Context, s storage.Store, name string) {
	b.rotateMu.Lock()
	defer b.rotateMu.Unlock()
	r, err := loadStaticRole(ctx, s, name) // again, under the lock
	if err != nil || r == nil || r.due().After(b.now()) {
		return
	}
	p, err := b.connection(ctx, s, r.DBName)
	if err == nil {
		err = b.setStaticPassword(ctx, p, r)
	}
	if err != nil {
		r.LastError = err.Error() // redacted by dbError
		r.NextAttempt = b.now().Add(rotationRetry)
		b.logger.Warn("database: scheduled rotation failed; will retry", "role", name, "error", r.LastError)
	}
	if err := save(ctx, s, staticRolePrefix+name, r); err != nil {
		b.logger.Error("database: storing a rotated static password failed", "role", name, "error", err)
	}
}
