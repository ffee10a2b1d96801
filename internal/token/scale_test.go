package token

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// countingStore counts the storage keys read or written through it,
// inside transactions too; a List counts once plus once per name returned.
type countingStore struct {
	storage.Store
	touched atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) (*storage.Entry, error) {
	c.touched.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]string, error) {
	names, err := c.Store.List(ctx, prefix)
	c.touched.Add(1 + int64(len(names)))
	return names, err
}

func (c *countingStore) Put(ctx context.Context, e *storage.Entry) error {
	c.touched.Add(1)
	return c.Store.Put(ctx, e)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.touched.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	return c.Store.Update(ctx, func(tx storage.Tx) error { return fn(&countingTx{Tx: tx, c: c}) })
}

type countingTx struct {
	storage.Tx
	c *countingStore
}

func (t *countingTx) Get(ctx context.Context, key string) (*storage.Entry, error) {
	t.c.touched.Add(1)
	return t.Tx.Get(ctx, key)
}

func (t *countingTx) List(ctx context.Context, prefix string) ([]string, error) {
	names, err := t.Tx.List(ctx, prefix)
	t.c.touched.Add(1 + int64(len(names)))
	return names, err
}

func (t *countingTx) Put(ctx context.Context, e *storage.Entry) error {
	t.c.touched.Add(1)
	return t.Tx.Put(ctx, e)
}

func (t *countingTx) Delete(ctx context.Context, key string) error {
	t.c.touched.Add(1)
	return t.Tx.Delete(ctx, key)
}

// fill creates n tokens in s, expiring over the next n seconds from 1h on,
// from 8 goroutines.
func fill(tb testing.TB, s *Store, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				ttl := time.Hour + time.Duration(i)*time.Second
				if _, err := s.Create(tb.Context(), &Entry{Policies: []string{"default"}, TTL: ttl}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		tb.Fatalf("%d creates failed", failed.Load())
	}
}

func TestOpenIsConstantAndLoopStillExpires(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	backing := inmem.New()
	first, err := Open(t.Context(), backing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, first, n)
	short, err := first.Create(t.Context(), &Entry{Policies: []string{"a"}, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}

	cs := &countingStore{Store: backing}
	var mu sync.Mutex
	var revoked []string
	s, err := Open(t.Context(), cs, Options{OnRevoke: func(_ context.Context, e *Entry) error {
		mu.Lock()
		revoked = append(revoked, e.Accessor)
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.touched.Load(); got > 5 {
		t.Fatalf("Open touched %d storage keys over %d tokens; want at most 5", got, n)
	}

	s.Start(t.Context())
	defer s.Stop()
	deadline := short.ExpireTime.Add(time.Second)
	for {
		mu.Lock()
		done := slices.Contains(revoked, short.Accessor)
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired token not revoked within 1s of expiry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := cs.touched.Load()
	time.Sleep(1100 * time.Millisecond)
	// A pass with nothing due lists one folder per level of the index.
	if got := cs.touched.Load() - before; got > 100 {
		t.Errorf("idle loop touched %d keys in 1.1s; it must not scan the tokens", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(revoked) != 1 {
		t.Errorf("revoked %d tokens, want only the expired one", len(revoked))
	}
}

func TestCacheStaysBounded(t *testing.T) {
	const bound = 64
	s, err := Open(t.Context(), inmem.New(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.cacheMax = bound
	ids := make([]string, 3*bound)
	for i := range ids {
		e, err := s.Create(t.Context(), &Entry{Policies: []string{"default"}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID
	}
	cached := func() int {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.cache)
	}
	if got := cached(); got > bound {
		t.Fatalf("cache holds %d entries after creates, bound %d", got, bound)
	}
	for round := range 2 {
		for _, id := range ids {
			e, err := s.Lookup(t.Context(), id)
			if err != nil {
				t.Fatalf("round %d: lookup: %v", round, err)
			}
			if e.ID != id {
				t.Fatalf("round %d: lookup returned ID %q", round, e.ID)
			}
			if got := cached(); got > bound {
				t.Fatalf("cache holds %d entries, bound %d", got, bound)
			}
		}
	}
}

func TestExpiryIndexFollowsRenewAndRevoke(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := t.Context()
	a := f.create(f.root, map[string]any{"ttl": "1h", "renewable": true})
	k := f.s.key(a.ClientToken)
	indexed := func() []string {
		var out []string
		err := storage.Walk(ctx, f.s.store, expPrefix, func(key string) error {
			out = append(out, key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	e, _ := f.s.Lookup(ctx, a.ClientToken)
	if got, want := indexed(), []string{expKeyAt(e.ExpireTime, k)}; !slices.Equal(got, want) {
		t.Fatalf("after create: index %v, want %v", got, want)
	}
	f.clock.Add(10 * time.Minute)
	f.mustDo(logical.UpdateOperation, "renew-self", a.ClientToken, map[string]any{"increment": "2h"})
	e, _ = f.s.Lookup(ctx, a.ClientToken)
	if got, want := indexed(), []string{expKeyAt(e.ExpireTime, k)}; !slices.Equal(got, want) {
		t.Fatalf("after renew: index %v, want %v", got, want)
	}
	f.mustDo(logical.UpdateOperation, "revoke-self", a.ClientToken, nil)
	if got := indexed(); len(got) != 0 {
		t.Fatalf("after revoke: index %v, want empty", got)
	}
}

func TestBackfillIndexesOldTokens(t *testing.T) {
	backing := inmem.New()
	s, err := Open(t.Context(), backing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Create(t.Context(), &Entry{Policies: []string{"a"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Make the view look as written before the index existed.
	for _, key := range []string{expIndexKey, expKeyAt(e.ExpireTime, s.key(e.ID))} {
		if err := backing.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{t: time.Now()}
	s2, err := Open(t.Context(), backing, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s2.Start(t.Context())
	defer s2.Stop()
	clk.Add(2 * time.Hour)
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, err := backing.Get(t.Context(), idPrefix+s.key(e.ID).String()); err != nil {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("token of an unindexed view never expired")
		}
	}
	if _, err := backing.Get(t.Context(), expIndexKey); err != nil {
		t.Errorf("view not marked as indexed: %v", err)
	}
}

// BenchmarkOpen opens a store over a view holding 100,000 tokens.
func BenchmarkOpen(b *testing.B) {
	backing := inmem.New()
	s, err := Open(b.Context(), backing, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	fill(b, s, n)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Open(b.Context(), backing, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(n, "tokens")
}
