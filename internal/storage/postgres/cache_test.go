package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

func TestCacheFill(t *testing.T) {
	cases := map[string]struct {
		between func(c *cache)
		want    bool // filled
	}{
		"quiet":                   {between: func(*cache) {}, want: true},
		"a write finished":        {between: func(c *cache) { c.beginWrite(); c.endWrite("k") }, want: false},
		"a write began":           {between: func(c *cache) { c.beginWrite() }, want: false},
		"another key was written": {between: func(c *cache) { c.beginWrite(); c.endWrite("other") }, want: false},
		"purged":                  {between: func(c *cache) { c.purge() }, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCache(10, 1<<20)
			_, ok, gen := c.get("k")
			if ok {
				t.Fatal("hit in an empty cache")
			}
			tc.between(c)
			c.fill("k", gen, []byte("v"), true)
			if _, ok, _ := c.get("k"); ok != tc.want {
				t.Errorf("cached = %v, want %v", ok, tc.want)
			}
		})
	}
	t.Run("write in flight blocks later reads too", func(t *testing.T) {
		c := newCache(10, 1<<20)
		c.beginWrite()
		_, _, gen := c.get("k")
		c.fill("k", gen, []byte("v"), true)
		if _, ok, _ := c.get("k"); ok {
			t.Error("filled while a write was in flight")
		}
	})
}

func TestCacheBounds(t *testing.T) {
	c := newCache(100, 1000)
	for i := range 1000 {
		k := "k" + strconv.Itoa(i)
		_, _, gen := c.get(k)
		c.fill(k, gen, make([]byte, 20), true)
		if n := c.len(); n > 100 || c.bytes > 1000 {
			t.Fatalf("after %d fills: %d entries, %d bytes; bounds 100, 1000", i+1, n, c.bytes)
		}
	}
	_, _, gen := c.get("big")
	c.fill("big", gen, make([]byte, maxCachedValue+1), true)
	if _, ok, _ := c.get("big"); ok {
		t.Error("cached a value over maxCachedValue")
	}
	// Copies go in and out: the caller's slices are its own.
	v := []byte("abc")
	_, _, gen = c.get("copy")
	c.fill("copy", gen, v, true)
	v[0] = 'X'
	e, _, _ := c.get("copy")
	e.Value[1] = 'Y'
	if e2, _, _ := c.get("copy"); string(e2.Value) != "abc" {
		t.Errorf("cached value = %q, want abc", e2.Value)
	}
}

// testCache checks the read cache against a real database: it serves
// repeated reads, its own writes invalidate it, and Purge drops what
// another writer made stale.
func testCache(t *testing.T, srv *pgtest.Server) {
	ctx := t.Context()
	s, err := Open(ctx, map[string]string{"connection_url": srv.URL, "table": "cache_kv"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, map[string]string{"connection_url": srv.URL, "table": "cache_kv"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	get := func(key string) string {
		t.Helper()
		e, err := s.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(e.Value)
	}
	put := func(st *Store, key, v string) {
		t.Helper()
		if err := st.Put(ctx, &storage.Entry{Key: key, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	errRollback := errors.New("roll back")

	steps := []struct {
		name string
		do   func()
		key  string
		want string
	}{
		{"missing", func() {}, "a/k", "<none>"},
		{"negative lookup is cached", func() { put(other, "a/k", "foreign") }, "a/k", "<none>"},
		{"own put invalidates", func() { put(s, "a/k", "v1") }, "a/k", "v1"},
		{"value is cached", func() { put(other, "a/k", "foreign") }, "a/k", "v1"},
		{"purge drops it", func() { s.Purge() }, "a/k", "foreign"},
		{"own delete invalidates", func() {
			if err := s.Delete(ctx, "a/k"); err != nil {
				t.Fatal(err)
			}
		}, "a/k", "<none>"},
		{"committed update invalidates", func() {
			err := s.Update(ctx, func(tx storage.Tx) error {
				return tx.Put(ctx, &storage.Entry{Key: "a/k", Value: []byte("v2")})
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "a/k", "v2"},
		{"rolled back update leaves the old value", func() {
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.Put(ctx, &storage.Entry{Key: "a/k", Value: []byte("v3")}); err != nil {
					return err
				}
				if e, err := tx.Get(ctx, "a/k"); err != nil || string(e.Value) != "v3" {
					t.Errorf("tx reads %v, %v; want its own write", e, err)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
		}, "a/k", "v2"},
		{"rolled back update leaves no phantom", func() {
			_ = s.Update(ctx, func(tx storage.Tx) error {
				_ = tx.Put(ctx, &storage.Entry{Key: "a/phantom", Value: []byte("x")})
				return errRollback
			})
		}, "a/phantom", "<none>"},
	}
	for _, st := range steps {
		// Read once first so the cache holds the key before the step.
		get(st.key)
		st.do()
		if got := get(st.key); got != st.want {
			t.Fatalf("%s: Get(%s) = %q, want %q", st.name, st.key, got, st.want)
		}
	}
}

// testCacheReadYourWrites runs writers and readers on a few keys: after
// a Put of n returns, no read that starts later may see less than n.
func testCacheReadYourWrites(t *testing.T, srv *pgtest.Server) {
	ctx := t.Context()
	s, err := Open(ctx, map[string]string{"connection_url": srv.URL, "table": "cache_ryw"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keys, writes, readers = 3, 150, 4
	var acked [keys]struct {
		sync.Mutex
		n int
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for k := range keys {
		key := fmt.Sprintf("ryw/k%d", k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= writes; n++ {
				var err error
				if n%2 == 0 {
					err = s.Put(ctx, &storage.Entry{Key: key, Value: []byte(strconv.Itoa(n))})
				} else {
					err = s.Update(ctx, func(tx storage.Tx) error {
						return tx.Put(ctx, &storage.Entry{Key: key, Value: []byte(strconv.Itoa(n))})
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked[k].Lock()
				acked[k].n = n
				acked[k].Unlock()
			}
		}()
	}
	done := make(chan struct{})
	var rg sync.WaitGroup
	for r := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				k := (i + r) % keys
				acked[k].Lock()
				floor := acked[k].n
				acked[k].Unlock()
				e, err := s.Get(ctx, fmt.Sprintf("ryw/k%d", k))
				got := 0
				if err == nil {
					got, _ = strconv.Atoi(string(e.Value))
				} else if !errors.Is(err, storage.ErrNotFound) {
					t.Error(err)
					return
				}
				if got < floor {
					t.Errorf("read %d of key %d after write %d was acknowledged", got, k, floor)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
}
