// Package backuptest checks that a storage backend gives backups a
// consistent snapshot.
package backuptest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/backup"
	"github.com/tresorhq/tresor/internal/storage"
)

// CheckConsistentUnderWrites takes backups of s while writers move units
// between keys in transactions that keep their sum constant: every backup
// must show the same sum, which only a copy from one snapshot can.
func CheckConsistentUnderWrites(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := t.Context()
	const keys, units, backups = 50, 100, 5
	for i := range keys {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("bank/k%02d", i), Value: []byte(strconv.Itoa(units))}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				from, to := fmt.Sprintf("bank/k%02d", (i*7+w)%keys), fmt.Sprintf("bank/k%02d", (i*13+w+1)%keys)
				if from == to {
					continue
				}
				_ = s.Update(ctx, func(tx storage.Tx) error {
					a, err := tx.Get(ctx, from)
					if err != nil {
						return err
					}
					b, err := tx.Get(ctx, to)
					if err != nil {
						return err
					}
					na, _ := strconv.Atoi(string(a.Value))
					nb, _ := strconv.Atoi(string(b.Value))
					if err := tx.Put(ctx, &storage.Entry{Key: from, Value: []byte(strconv.Itoa(na - 1))}); err != nil {
						return err
					}
					return tx.Put(ctx, &storage.Entry{Key: to, Value: []byte(strconv.Itoa(nb + 1))})
				})
			}
		}()
	}
	for range backups {
		var buf bytes.Buffer
		if _, err := backup.Write(context.Background(), s, &buf); err != nil {
			t.Fatal(err)
		}
		sum := 0
		if _, err := backup.Read(bytes.NewReader(buf.Bytes()), func(e *storage.Entry) error {
			n, err := strconv.Atoi(string(e.Value))
			sum += n
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if sum != keys*units {
			t.Errorf("a backup taken under writes sums to %d, want %d: not one snapshot", sum, keys*units)
		}
	}
	cancel()
	wg.Wait()
}
