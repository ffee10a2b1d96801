package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/backup"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// sealPrefix holds the seal's own entries in the raw store: not written by
// the barrier, so a backup's check skips them (the file's SHA-256 covers
// them).
const sealPrefix = "seal/"

// BackupStorage writes a backup of the whole raw store (ciphertext as
// stored) to w from one consistent snapshot. It is called inside a request
// (sys/storage/backup), which holds the core unsealed.
func (c *Core) BackupStorage(ctx context.Context, w io.Writer) (backup.Info, error) {
	return backup.Write(ctx, c.cfg.Storage, w)
}

// VerifyBackup reads a backup from r and checks the file (format, count,
// SHA-256) and every barrier entry's authentication tag under the current
// keyring. It fails while sealed, and for a backup of another cluster.
func (c *Core) VerifyBackup(r io.Reader) (backup.Info, error) {
	return backup.Read(r, func(e *storage.Entry) error {
		if strings.HasPrefix(e.Key, sealPrefix) {
			return nil
		}
		return c.barrier.Verify(e.Key, e.Value)
	})
}

// RestoreStorage is sys/storage/restore (POST, sudo): it replaces all
// data with the backup body and seals the core, which then unseals with
// the keys of the backup's cluster. The file is checked whole first; a
// truncated or altered file, or (unless force) a backup whose entries do
// not authenticate under this cluster's keyring, is refused with a 400
// and nothing changes. req carries the caller's token and connection.
// POST sys/storage/raft/snapshot[-force] comes here too (req.Path tells)
// and installs a Raft snapshot instead (see restoreRaftSnapshot).
//
// It is not reached through Handle: it needs the core to itself (no
// request in flight while the data is swapped), which a request holding
// the core's state cannot have.
func (c *Core) RestoreStorage(ctx context.Context, req *logical.Request, body []byte, force bool) error {
	ctx = context.WithoutCancel(ctx)
	if strings.HasPrefix(req.Path, raftSnapshotPath) {
		return c.restoreRaftSnapshot(ctx, req, body, force)
	}
	err := c.checkRestore(ctx, req, func() error {
		if _, ok := c.cfg.Storage.(raftSnapshots); ok {
			// The swap below would be replicated entry by entry, on a node
			// that leaves Raft when it seals: a Raft cluster is restored
			// from a Raft snapshot.
			return logical.InvalidRequest("raft storage is restored from a raft snapshot: use operator raft snapshot restore (sys/storage/raft/snapshot)")
		}
		return c.checkBackup(body, force)
	})
	if err != nil {
		return err
	}
	// On an HA node the lock is released after the swap, once sealed: no
	// other node becomes active on the old data meanwhile, and the next
	// one finds the restored data (and, if its keys do not open it,
	// seals in turn: see runHA).
	defer c.stopHA()
	c.state.Lock()
	defer c.state.Unlock()
	if c.sealed {
		return logical.ErrSealed
	}
	// Seal first: background work stops and no cache of the old data
	// outlives it; then swap the data in one transaction.
	c.sealLocked()
	if _, err := backup.Restore(ctx, c.cfg.Storage, body); err != nil {
		c.logger.Error("restore from backup failed; the data is unchanged and the server sealed", "error", err)
		return fmt.Errorf("restore: %w", err)
	}
	c.seal.Reload()
	c.logger.Info("storage restored from backup; sealed (unseal with the backup's keys)")
	return nil
}

// checkRestore authenticates and authorises the caller (sudo on the path),
// audits the request, runs run (the check of the file, or a whole
// snapshot install) and audits its outcome, with the core held unsealed
// and active. With audit devices enabled and none able to record, nothing
// runs and the request fails, as every request does.
func (c *Core) checkRestore(ctx context.Context, req *logical.Request, run func() error) error {
	c.state.RLock()
	defer c.state.RUnlock()
	if err := c.activeCheck(); err != nil {
		return err
	}
	te, err := c.authenticate(ctx, req, false)
	var in *audit.Input
	if c.audit.Enabled() {
		in = auditInput(req, te, nil, nil)
	}
	if err == nil {
		err = c.authorize(ctx, te, req.Path, logical.UpdateOperation, req.Data, 0, true)
	}
	if err != nil {
		return c.refuse(ctx, in, err)
	}
	if in != nil {
		if err := c.logAudit(ctx, "request", in); err != nil {
			c.metrics.AuditFailure()
			return errAuditFailed
		}
	}
	err = run()
	if in != nil {
		in.Err = err
		if aerr := c.logAudit(ctx, "response", in); aerr != nil {
			c.metrics.AuditFailure()
			return errAuditFailed
		}
	}
	return err
}

func (c *Core) checkBackup(body []byte, force bool) error {
	if force {
		if _, err := backup.Check(body); err != nil {
			return logical.InvalidRequest("%s", err.Error())
		}
		return nil
	}
	_, err := c.VerifyBackup(bytes.NewReader(body))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, backup.ErrInvalid):
		return logical.InvalidRequest("%s", err.Error())
	}
	return logical.InvalidRequest("backup does not verify under this cluster's keyring (%s); "+
		"to restore another cluster's backup, use force", err.Error())
}

// SetBackups attaches the scheduler of the backup "local" stanza, which
// sys/backups lists.
func (c *Core) SetBackups(s *backup.Scheduler) { c.backups.Store(s) }

// Backups returns the scheduler of scheduled backups, nil if none is
// configured.
func (c *Core) Backups() *backup.Scheduler { return c.backups.Load() }
