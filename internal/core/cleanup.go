package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// cleanupPrefix holds the work the server owes after answering: the
// storage of unmounted mounts still to be cleared. A record is written in
// the same transaction that removes the mount, and deleted only once the
// storage is empty, so the work survives a client that hangs up, a seal
// and a crash, and resumes at the next unseal.
const cleanupPrefix = "core/cleanup/"

// cleanup is one owed clearing of a storage prefix.
type cleanup struct {
	// Prefix is the storage prefix (below the barrier) to clear.
	Prefix string `json:"prefix"`
	// Path is the mount path it belonged to, for the log.
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
}

// cleanupKey is the record's key: one per mount UUID, never reused.
func cleanupKey(uuid string) string { return cleanupPrefix + uuid }

func (w *cleanup) encode() (*storage.Entry, error) {
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return &storage.Entry{Value: raw}, nil
}

// startCleanups resumes every owed cleanup. Called at unseal with state
// held for writing; the work runs in the background until done or sealed.
func (c *Core) startCleanups(ctx context.Context) error {
	ids, err := c.barrier.List(ctx, cleanupPrefix)
	if err != nil {
		return fmt.Errorf("list owed cleanups: %w", err)
	}
	for _, id := range ids {
		e, err := c.barrier.Get(ctx, cleanupPrefix+id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read owed cleanup %s: %w", id, err)
		}
		var w cleanup
		if err := json.Unmarshal(e.Value, &w); err != nil {
			return fmt.Errorf("decode owed cleanup %s: %w", id, err)
		}
		c.runCleanup(cleanupPrefix+id, w)
	}
	return nil
}

// runCleanup clears w.Prefix in the background, then forgets the record
// under key. The work stops when the core seals (c.bg is cancelled) and
// resumes at the next unseal.
func (c *Core) runCleanup(key string, w cleanup) {
	ctx := c.bg
	c.bgWork.Add(1)
	go func() {
		defer c.bgWork.Done()
		view := storage.NewView(c.barrier, w.Prefix)
		// A storage error is retried with backoff: the work is never
		// forgotten, only paused by a seal.
		for wait := time.Second; ; wait = min(2*wait, time.Minute) {
			err := storage.Clear(ctx, view, "")
			if err == nil {
				err = c.barrier.Delete(ctx, key)
			}
			if err == nil {
				c.logger.Info("cleared unmounted storage", "path", w.Path)
				return
			}
			if ctx.Err() != nil {
				c.logger.Info("clearing unmounted storage paused until the next unseal", "path", w.Path)
				return
			}
			c.logger.Error("clearing unmounted storage", "path", w.Path, "error", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
}

// stopBackground cancels background work and waits for it. Called while
// sealing, before the barrier closes.
func (c *Core) stopBackground() {
	if c.bgCancel != nil {
		c.bgCancel()
		c.bgWork.Wait()
		c.bgCancel = nil
	}
}
