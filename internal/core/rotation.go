package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/storage"
)

// rotationKey holds the automatic keyring rotation settings of
// sys/rotate/config (and sys/rotate/keyring/config).
const rotationKey = "core/rotation-config"

func defaultRotationConfig() barrier.RotationConfig {
	return barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations}
}

// RotationConfig returns the automatic rotation settings. Called during a
// request (see TokensCreated).
func (c *Core) RotationConfig(ctx context.Context) (barrier.RotationConfig, error) {
	e, err := c.barrier.Get(ctx, rotationKey)
	if errors.Is(err, storage.ErrNotFound) {
		return defaultRotationConfig(), nil
	}
	if err != nil {
		return barrier.RotationConfig{}, fmt.Errorf("read rotation config: %w", err)
	}
	r := defaultRotationConfig()
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return barrier.RotationConfig{}, fmt.Errorf("decode rotation config: %w", err)
	}
	return r, nil
}

// SetRotationConfig stores r, which must be valid.
func (c *Core) SetRotationConfig(ctx context.Context, r barrier.RotationConfig) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: rotationKey, Value: raw}); err != nil {
		return fmt.Errorf("store rotation config: %w", err)
	}
	return nil
}

// rotateIfDue rotates the keyring when the settings say it is due at now,
// and reports whether it did.
func (c *Core) rotateIfDue(ctx context.Context, now time.Time) (bool, error) {
	r, err := c.RotationConfig(ctx)
	if err != nil {
		return false, err
	}
	ki, err := c.barrier.KeyStatus()
	if err != nil || !r.Due(ki, now) {
		return false, err
	}
	ki, err = c.barrier.Rotate(ctx)
	if err != nil {
		return false, fmt.Errorf("rotate keyring: %w", err)
	}
	c.logger.Info("keyring rotated automatically", "term", ki.Term)
	return true, nil
}

// rotationCheckEvery is how often the core checks whether the keyring is
// due for rotation.
const rotationCheckEvery = 5 * time.Minute

// startAutoRotation checks the rotation settings every rotationCheckEvery
// until the core seals.
func (c *Core) startAutoRotation() {
	ctx := c.bg
	c.bgWork.Add(1)
	go func() {
		defer c.bgWork.Done()
		t := time.NewTicker(rotationCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if _, err := c.rotateIfDue(ctx, now); err != nil && ctx.Err() == nil {
					c.logger.Error("automatic keyring rotation", "error", err)
				}
			}
		}
	}()
}
