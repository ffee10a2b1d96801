package kv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
)

// BenchmarkV2ReadSpread reads keys chosen at random among n from a mount
// on bolt behind the barrier, as the server does: how a read's cost grows
// with the number of secrets (it should not). The secrets
// are written through the backend in large transactions; 1,000,000 runs
// only with TRESOR_BENCH_1M=1 (it takes a minute to load).
func BenchmarkV2ReadSpread(b *testing.B) {
	sizes := []int{1000, 100000}
	if os.Getenv("TRESOR_BENCH_1M") != "" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			if d := os.Getenv("TRESOR_BENCH_DIR"); d != "" {
				dir = d
			}
			st, err := bolt.Open(filepath.Join(dir, fmt.Sprintf("spread-%d.db", n)), bolt.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer os.Remove(filepath.Join(dir, fmt.Sprintf("spread-%d.db", n)))
			defer st.Close()
			bar := barrier.New(st)
			root := bytes.Repeat([]byte{7}, 32)
			if err := bar.Initialize(ctx, root); err != nil {
				b.Fatal(err)
			}
			if err := bar.Unseal(ctx, root); err != nil {
				b.Fatal(err)
			}
			s := storage.NewView(bar, "logical/bench/")
			lb, err := Factory(ctx, &logical.BackendConfig{Storage: s, Options: map[string]string{"version": "2"}})
			if err != nil {
				b.Fatal(err)
			}
			kv := lb.(*Backend)
			paths := make([]string, n)
			for i := range paths {
				paths[i] = fmt.Sprintf("data/bench/%08d", i)
			}
			const batch = 5000
			for lo := 0; lo < n; lo += batch {
				err := s.Update(ctx, func(tx storage.Tx) error {
					for i := lo; i < min(lo+batch, n); i++ {
						req := &logical.Request{Operation: logical.UpdateOperation, Path: paths[i], Storage: txStore{tx, s}, Data: map[string]any{"data": benchSecret}}
						if _, err := kv.HandleRequest(ctx, req); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				resp, err := kv.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: paths[rng.IntN(n)], Storage: s})
				if err != nil || resp.Data["data"] == nil {
					b.Fatal(resp, err)
				}
			}
		})
	}
}

// txStore runs the backend's own transactions inside an outer one, so that
// loading a large mount commits once per batch instead of once per secret.
type txStore struct {
	storage.Tx
	storage.Store
}

func (t txStore) Get(ctx context.Context, key string) (*storage.Entry, error) {
	return t.Tx.Get(ctx, key)
}
func (t txStore) List(ctx context.Context, prefix string) ([]string, error) {
	return t.Tx.List(ctx, prefix)
}
func (t txStore) Put(ctx context.Context, e *storage.Entry) error { return t.Tx.Put(ctx, e) }
func (t txStore) Delete(ctx context.Context, key string) error    { return t.Tx.Delete(ctx, key) }
func (t txStore) Update(_ context.Context, fn func(storage.Tx) error) error {
	return fn(t.Tx)
}
