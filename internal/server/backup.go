package server

import (
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/backup"
)

// startBackups starts the scheduled backups of a backup "local" stanza:
// every interval a backup of the storage is written to its path, verified
// against the keyring and old ones pruned; sys/backups lists them and
// vault_backup_last_success_age_seconds shows the age of the last good one.
// While the core is sealed, or is an HA standby, no backup is taken (the
// scheduler checks at every tick).
func (s *Server) startBackups() error {
	bc := s.cfg.Backup
	if bc == nil {
		return nil
	}
	sched, err := backup.NewScheduler(s.Core, backup.Schedule{Dir: bc.Path, Interval: bc.Interval, Retain: bc.Retain},
		s.logger.With("component", "backup"))
	if err != nil {
		return fmt.Errorf("backup %q: %w", bc.Type, err)
	}
	s.Core.SetBackups(sched)
	s.Core.Metrics().RegisterBackupAge(sched.LastSuccessAge)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBackups = cancel
	go sched.Run(ctx)
	return nil
}
