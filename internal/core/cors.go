package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tresorhq/tresor/internal/cors"
	"github.com/tresorhq/tresor/internal/storage"
)

// corsKey holds the cross-origin policy of sys/config/cors.
const corsKey = "core/cors"

// CORS returns the cross-origin policy, nil when CORS is disabled. It
// takes no lock: the HTTP layer asks on every request, sealed or not, and
// the last policy loaded stays in force while sealed, so that a browser
// page can still unseal.
func (c *Core) CORS() *cors.Policy { return c.cors.Load() }

// SetCORS stores p as the cross-origin policy; nil disables CORS.
func (c *Core) SetCORS(ctx context.Context, p *cors.Policy) error {
	if p == nil {
		if err := c.barrier.Delete(ctx, corsKey); err != nil {
			return fmt.Errorf("delete CORS policy: %w", err)
		}
		c.cors.Store(nil)
		return nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: corsKey, Value: raw}); err != nil {
		return fmt.Errorf("store CORS policy: %w", err)
	}
	c.cors.Store(p)
	return nil
}

// loadCORS reads the stored policy at unseal.
func (c *Core) loadCORS(ctx context.Context) error {
	e, err := c.barrier.Get(ctx, corsKey)
	if errors.Is(err, storage.ErrNotFound) {
		c.cors.Store(nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read CORS policy: %w", err)
	}
	p := new(cors.Policy)
	if err := json.Unmarshal(e.Value, p); err != nil {
		return fmt.Errorf("decode CORS policy: %w", err)
	}
	c.cors.Store(p)
	return nil
}
