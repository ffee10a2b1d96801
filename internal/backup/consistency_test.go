package backup_test

import (
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/backup/backuptest"
	"github.com/tresorhq/tresor/internal/storage/bolt"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestConsistentUnderWrites(t *testing.T) {
	t.Run("inmem", func(t *testing.T) { backuptest.CheckConsistentUnderWrites(t, inmem.New()) })
	t.Run("bolt", func(t *testing.T) {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		backuptest.CheckConsistentUnderWrites(t, db)
	})
}
