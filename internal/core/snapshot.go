package core

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	raftstore "github.com/tresorhq/tresor/internal/storage/raft"
)

// raftSnapshotPath is the API path of Raft snapshots: GET saves one
// (SaveRaftSnapshot, through Handle), POST restores one (RestoreStorage,
// with "-force" or without).
const raftSnapshotPath = "sys/storage/raft/snapshot"

// raftSnapshots is what the Raft storage (storage/raft's Store) offers for
// sys/storage/raft/snapshot: a snapshot of the whole cluster's state
// written to w, its checksums MACed by seal; and the install of one read
// from r, checked whole before anything changes (verify checks the MAC;
// nil skips that check, for a forced restore). RestoreSnapshot returns an
// error wrapping raftstore.ErrBadSnapshot for a damaged file and
// raftstore.ErrForeignSnapshot for one whose MAC does not verify.
type raftSnapshots interface {
	SaveSnapshot(w io.Writer, seal func(sums []byte) ([]byte, error)) error
	RestoreSnapshot(r io.Reader, verify func(sums, sealed []byte) error) error
}

// SaveRaftSnapshot is GET sys/storage/raft/snapshot (sudo): it writes a
// snapshot of the Raft cluster's data (ciphertext, as stored) to w. It is
// called inside a request (through Handle), which holds the core unsealed
// and active: it takes no lock itself.
func (c *Core) SaveRaftSnapshot(ctx context.Context, w io.Writer) error {
	rs, ok := c.cfg.Storage.(raftSnapshots)
	if !ok {
		return logical.InvalidRequest("raft storage is not in use")
	}
	if err := rs.SaveSnapshot(w, func(sums []byte) ([]byte, error) { return c.macSnapshot(ctx, sums) }); err != nil {
		return fmt.Errorf("raft snapshot: %w", err)
	}
	return nil
}

// restoreRaftSnapshot is POST sys/storage/raft/snapshot[-force] (sudo):
// the snapshot replaces the whole cluster's data; the followers install it
// through Raft. Authentication, authorisation and audit are checkRestore's,
// and the audit's response entry records the install's outcome. Without
// force a snapshot of another cluster is refused (400); with force the
// node seals afterwards (and so do the others, see StorageReplaced), to be
// unsealed with the keys of the snapshot's cluster.
func (c *Core) restoreRaftSnapshot(ctx context.Context, req *logical.Request, body []byte, force bool) error {
	rs, ok := c.cfg.Storage.(raftSnapshots)
	if !ok {
		return logical.InvalidRequest("raft storage is not in use")
	}
	err := c.checkRestore(ctx, req, func() error {
		var verify func(sums, sealed []byte) error
		if !force {
			verify = func(sums, sealed []byte) error { return c.verifySnapshot(ctx, sums, sealed) }
		}
		err := rs.RestoreSnapshot(bytes.NewReader(body), verify)
		switch {
		case errors.Is(err, raftstore.ErrBadSnapshot), errors.Is(err, raftstore.ErrForeignSnapshot):
			return logical.InvalidRequest("%s", err.Error())
		case err != nil:
			return fmt.Errorf("install raft snapshot: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.afterRaftRestore(ctx, force)
	return nil
}

// Raft snapshots carry a MAC of their checksums under a key kept in the
// barrier, so a restore tells this cluster's snapshots from others'.
const snapshotKeyPath = "core/raft/snapshot-key"

func (c *Core) snapshotKey(ctx context.Context) ([]byte, error) {
	e, err := c.barrier.Get(ctx, snapshotKeyPath)
	if err == nil {
		return e.Value, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	key := []byte(randomHex(32))
	if err := c.barrier.Put(ctx, &storage.Entry{Key: snapshotKeyPath, Value: key}); err != nil {
		return nil, err
	}
	return key, nil
}

// activeCheck refuses work on a sealed core or a standby. The caller
// holds c.state.
func (c *Core) activeCheck() error {
	if c.sealed {
		return logical.ErrSealed
	}
	if c.standby {
		return ErrStandby
	}
	return nil
}

// macSnapshot MACs a snapshot's checksum file. The caller holds c.state.
func (c *Core) macSnapshot(ctx context.Context, sums []byte) ([]byte, error) {
	key, err := c.snapshotKey(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write(sums)
	return m.Sum(nil), nil
}

// verifySnapshot checks a snapshot's MAC against this cluster's key. The
// caller holds c.state.
func (c *Core) verifySnapshot(ctx context.Context, sums, sealed []byte) error {
	want, err := c.macSnapshot(ctx, sums)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, sealed) {
		return errors.New("snapshot MAC mismatch")
	}
	return nil
}

// afterRaftRestore brings the active node in line with restored data: the
// caches are dropped and reloaded from storage; after a forced restore
// (another cluster's keys), or if reloading fails, the node seals, to be
// unsealed with the keys of the snapshot's cluster.
func (c *Core) afterRaftRestore(ctx context.Context, forced bool) {
	if !forced {
		c.state.Lock()
		if !c.sealed && !c.standby {
			c.teardownLocked()
			err := c.barrier.Reload(ctx)
			if err == nil {
				err = c.postUnseal(ctx)
			}
			if err == nil {
				c.state.Unlock()
				return
			}
			c.logger.Error("reloading after a snapshot restore failed; sealing", "error", err)
		}
		c.state.Unlock()
	}
	c.stopHA()
	c.state.Lock()
	defer c.state.Unlock()
	c.sealLocked()
	c.seal.Reload()
	c.logger.Info("raft snapshot installed; sealed (unseal with the snapshot's keys)")
}
