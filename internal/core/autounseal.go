package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/seal"
)

// AutoUnseal unseals an auto-unseal core with the root key its Wrapper
// unwraps. It reports whether the core is unsealed afterwards; a Shamir or
// uninitialised core is left as it is.
func (c *Core) AutoUnseal(ctx context.Context) (bool, error) {
	if c.seal.Wrapper() == nil {
		return false, nil
	}
	c.state.Lock()
	defer c.state.Unlock()
	if !c.sealed {
		return true, nil
	}
	if c.seal.MigrationPending(ctx) {
		return false, nil
	}
	rootKey, err := c.seal.AutoRootKey(ctx)
	if errors.Is(err, seal.ErrNotInitialized) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer clear(rootKey)
	if err := c.unsealWith(ctx, rootKey); err != nil {
		return false, err
	}
	c.logger.Info("core unsealed by the seal", "type", c.seal.Wrapper().Type())
	return true, nil
}

// unsealWith opens the barrier with rootKey and brings the core up. Called
// with state held for writing.
func (c *Core) unsealWith(ctx context.Context, rootKey []byte) error {
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		if errors.Is(err, barrier.ErrBadRootKey) {
			return logical.InvalidRequest("%s", seal.ErrBadShares.Error())
		}
		return fmt.Errorf("unseal barrier: %w", err)
	}
	if c.cfg.HA != nil {
		// Active or standby is the HA loop's to decide.
		if err := c.unsealHA(ctx); err != nil {
			c.barrier.Seal()
			return err
		}
	} else if err := c.postUnseal(ctx); err != nil {
		c.stopBackground()
		c.barrier.Seal()
		return fmt.Errorf("post-unseal setup: %w", err)
	}
	c.sealed = false
	c.sealedNow.Store(false)
	return nil
}

// StartAutoUnseal keeps trying AutoUnseal in the background until the
// core is unsealed, saying in the log why it waits (a transit server not
// up yet). It returns at once; Shutdown stops it. It does nothing for a
// Shamir seal, and stops quietly while the core is uninitialised
// (initialisation unseals an auto-unseal core itself).
func (c *Core) StartAutoUnseal() {
	if c.seal.Wrapper() == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.autoMu.Lock()
	c.autoStop, c.autoDone = cancel, done
	c.autoMu.Unlock()
	go func() {
		defer close(done)
		if c.seal.MigrationPending(ctx) {
			c.logger.Warn("seal: a seal migration is pending; unseal with -migrate and a quorum of the current key shares")
			return
		}
		wait := 250 * time.Millisecond
		for {
			tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
			ok, err := c.AutoUnseal(tctx)
			tcancel()
			switch {
			case ok:
				return
			case err == nil:
				if init, _ := c.Initialized(ctx); !init {
					c.logger.Info("seal: not initialized yet; run operator init to create the recovery keys")
					return
				}
			default:
				c.logger.Warn("seal: cannot unseal automatically yet; retrying", "type", c.seal.Wrapper().Type(), "retry_in", wait.String(), "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, 10*time.Second)
		}
	}()
}

// stopAutoUnseal ends StartAutoUnseal's loop and waits for it, and stops
// whatever the seal runs in the background (transit token renewal).
func (c *Core) stopAutoUnseal() {
	if cl, ok := c.seal.Wrapper().(interface{ Close() }); ok {
		cl.Close()
	}
	c.autoMu.Lock()
	stop, done := c.autoStop, c.autoDone
	c.autoStop, c.autoDone = nil, nil
	c.autoMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// UnsealMigrate submits one key share towards a seal migration (sys/unseal
// with migrate set): at the threshold the root key moves from the stored
// seal to the configured one, and the core unseals.
func (c *Core) UnsealMigrate(ctx context.Context, share []byte) (bool, error) {
	return c.submitShare(ctx, share, c.seal.SubmitMigrate, "seal migrated; core unsealed")
}
