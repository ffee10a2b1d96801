package lease

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func BenchmarkOpenWith100kLeases(b *testing.B) { benchmarkOpen(b, 100_000) }

func BenchmarkOpenWith1MLeases(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 1M-lease database; skipped in -short")
	}
	benchmarkOpen(b, 1_000_000)
}

// benchmarkOpen measures what an unseal pays: Open, then the loop's first
// step (find the earliest due bucket and load its leases), over a bolt file
// holding n leases due over the next 30 days.
func benchmarkOpen(b *testing.B, n int) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(b.TempDir(), "tresor.db")
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fill(b, s, n, base)
	b.Logf("built %d leases in %v", n, time.Since(start).Round(time.Millisecond))
	// Reopen, as a restarted server would.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = bolt.Open(path, bolt.Options{}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	now := func() time.Time { return base }
	var due int
	for b.Loop() {
		m, err := Open(ctx, s, Options{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		if total, _ := m.Count(); total != n {
			b.Fatalf("Count = %d, want %d", total, n)
		}
		bucket, _, names, err := m.duePage(ctx, now())
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range names {
			if _, err := readLease(ctx, m.s, unescape(name)); err != nil {
				b.Fatalf("due lease in %s: %v", bucket, err)
			}
		}
		due = len(names)
	}
	if due == 0 {
		b.Fatal("first page found nothing due")
	}
	b.ReportMetric(float64(due), "due/op")
}

// fill stores n leases, due from base on, spread evenly over 30 days,
// thousands per transaction.
func fill(b *testing.B, s storage.Store, n int, base time.Time) {
	ctx := context.Background()
	spread := 30 * 24 * time.Hour / time.Duration(n)
	const batch = 5000
	for i := 0; i < n; i += batch {
		err := s.Update(ctx, func(tx storage.Tx) error {
			for j := i; j < min(i+batch, n); j++ {
				issue := base.Add(-time.Hour)
				l := &Lease{
					ID:            fmt.Sprintf("database/creds/role%d/%s", j%50, randid.Base62(24)),
					Path:          fmt.Sprintf("database/creds/role%d", j%50),
					MountAccessor: "database_1234",
					TokenAccessor: fmt.Sprintf("acc%d", j%1000),
					IssueTime:     issue,
					ExpireTime:    base.Add(time.Duration(j) * spread),
					TTL:           time.Hour,
					Renewable:     true,
					InternalData:  map[string]any{"username": fmt.Sprintf("v-role-%d", j)},
				}
				if _, err := replace(ctx, tx, nil, l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegister(b *testing.B) {
	stores := map[string]func(b *testing.B) storage.Store{
		"inmem": func(*testing.B) storage.Store { return inmem.New() },
		"bolt": func(b *testing.B) storage.Store {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "tresor.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, newStore := range stores {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			m, err := Open(ctx, newStore(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				l := &Lease{Path: "database/creds/app", TokenAccessor: "acc", TTL: time.Hour, Renewable: true}
				if _, err := m.Register(ctx, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
