package token

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage/bolt"
)

// BenchmarkCreateConcurrent creates tokens from 32 goroutines over bolt with
// fsync on, as a busy server does, so it measures how well creations share
// the backend's group commits. "child" creates every token under one parent
// (auth/token/create); "orphan" mints login tokens (CreateFromAuth).
func BenchmarkCreateConcurrent(b *testing.B) {
	for _, name := range []string{"child", "orphan"} {
		b.Run(name, func(b *testing.B) {
			const clients = 32
			db, err := bolt.Open(filepath.Join(b.TempDir(), "tresor.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := b.Context()
			s, err := Open(ctx, db, Options{})
			if err != nil {
				b.Fatal(err)
			}
			parent := ""
			if name == "child" {
				p, err := s.Create(ctx, &Entry{Policies: []string{"root"}})
				if err != nil {
					b.Fatal(err)
				}
				parent = s.key(p.ID).String()
			}
			before := db.Stats()
			var next, failed atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						_, err := s.Create(ctx, &Entry{Parent: parent, Policies: []string{"default"}, TTL: time.Hour})
						if err != nil {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d creates failed", n)
			}
			commits := db.Stats().Commits - before.Commits
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(commits)/float64(b.N), "fsyncs/create")
		})
	}
}
