package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// benchValue is about the size of a sealed KV secret.
var benchValue = make([]byte, 256)

// reportWrites adds writes/s and fsyncs/write (commits per write) to b.
func reportWrites(b *testing.B, s *Store, before Stats) {
	st := s.Stats()
	writes, commits := st.Writes-before.Writes, st.Commits-before.Commits
	b.ReportMetric(float64(writes)/b.Elapsed().Seconds(), "writes/s")
	if writes > 0 {
		b.ReportMetric(float64(commits)/float64(writes), "fsyncs/write")
	}
}

func BenchmarkPutSequential(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	before := s.Stats()
	i := 0
	for b.Loop() {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("seq/%d", i), Value: benchValue}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportWrites(b, s, before)
}

func BenchmarkPutConcurrent32(b *testing.B) {
	const writers = 32
	s := open(b)
	ctx := context.Background()
	before := s.Stats()
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("c%02d/%d", w, i), Value: benchValue}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d Puts failed", failed.Load())
	}
	reportWrites(b, s, before)
}

func BenchmarkGet(b *testing.B) {
	const keys = 10_000
	s := open(b)
	ctx := context.Background()
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := range keys {
			if err := tx.Put(ctx, &storage.Entry{Key: fmt.Sprintf("get/%d", i), Value: benchValue}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := s.Get(ctx, fmt.Sprintf("get/%d", rng.IntN(keys))); err != nil {
			b.Fatal(err)
		}
	}
}
