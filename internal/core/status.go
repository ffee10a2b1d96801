package core

import (
	"context"
	"errors"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/seal"
)

// SealStatus reports the seal state. It answers while sealed.
func (c *Core) SealStatus(ctx context.Context) (*seal.Status, error) {
	st := &seal.Status{Type: "shamir", StorageType: c.cfg.StorageType}
	if w := c.seal.Wrapper(); w != nil {
		st.Type, st.RecoverySeal = w.Type(), true
	}
	cfg, err := c.seal.Config(ctx)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		st.Sealed = true
		return st, nil
	case err != nil:
		return nil, err
	}
	st.Initialized = true
	st.Type, st.RecoverySeal = cfg.Type, cfg.Recovery
	st.Migration = c.seal.MigrationPending(ctx)
	st.Threshold, st.Shares = cfg.SecretThreshold, cfg.SecretShares
	st.Progress, st.Nonce = c.seal.Progress()
	c.state.RLock()
	st.Sealed = c.sealed
	st.Standby = c.standby
	st.HAEnabled = c.cfg.HA != nil
	if !c.sealed {
		st.ClusterName, st.ClusterID = c.cluster.Name, c.cluster.ID
	}
	c.state.RUnlock()
	return st, nil
}

// Rotate adds a new encryption key term to the barrier's keyring.
func (c *Core) Rotate(ctx context.Context) (barrier.KeyInfo, error) {
	return c.barrier.Rotate(ctx)
}

// KeyStatus reports the barrier's current key term.
func (c *Core) KeyStatus() (barrier.KeyInfo, error) {
	ki, err := c.barrier.KeyStatus()
	if errors.Is(err, barrier.ErrSealed) {
		return ki, logical.ErrSealed
	}
	return ki, err
}
