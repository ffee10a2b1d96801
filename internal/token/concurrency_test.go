package token

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// backends are the storages the concurrency tests run over: inmem, and
// bolt, whose group commit runs concurrent transactions in one batch.
var backends = map[string]func(t *testing.T) storage.Store{
	"inmem": func(*testing.T) storage.Store { return inmem.New() },
	"bolt": func(t *testing.T) storage.Store {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "tresor.db"), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	},
}

func TestConcurrentCreatesUnderOneParent(t *testing.T) {
	const n = 64
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := open(t)
			s, err := Open(ctx, db, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Create(ctx, &Entry{Policies: []string{"root"}})
			if err != nil {
				t.Fatal(err)
			}
			pk := s.key(p.ID).String()
			ids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					e, err := s.Create(ctx, &Entry{Parent: pk, Policies: []string{"default"}, TTL: time.Hour})
					if err != nil {
						t.Errorf("create %d: %v", i, err)
						return
					}
					ids[i] = e.ID
				})
			}
			wg.Wait()
			children, err := db.List(ctx, parentPrefix+pk+"/")
			if err != nil || len(children) != n {
				t.Fatalf("parent index holds %d children (%v), want %d", len(children), err, n)
			}
			// Visible both through this store's cache and to a store
			// reading storage afresh.
			s2, err := Open(ctx, db, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				for store, st := range map[string]*Store{"same": s, "reopened": s2} {
					if e, err := st.Lookup(ctx, id); err != nil || e.Parent != pk {
						t.Errorf("%s store: child %d: %+v, %v", store, i, e, err)
					}
				}
			}
		})
	}
}

func TestCreatesRacingRecursiveRevoke(t *testing.T) {
	const creators, perCreator, rounds = 8, 30, 10
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := open(t)
			var mu sync.Mutex
			revoked := map[string]bool{}
			s, err := Open(ctx, db, Options{OnRevoke: func(_ context.Context, e *Entry) error {
				mu.Lock()
				revoked[e.Accessor] = true
				mu.Unlock()
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			for round := range rounds {
				p, err := s.Create(ctx, &Entry{Policies: []string{"root"}})
				if err != nil {
					t.Fatal(err)
				}
				var (
					cmu     sync.Mutex
					created []*Entry
					wg      sync.WaitGroup
				)
				start := make(chan struct{})
				// Each creator makes children of the parent, and
				// descendants under some of them, until creation fails
				// because the tree is gone or it made perCreator tokens.
				for range creators {
					wg.Go(func() {
						<-start
						parent := s.key(p.ID).String()
						for i := range perCreator {
							e, err := s.Create(ctx, &Entry{Parent: parent, Policies: []string{"default"}, TTL: time.Hour})
							if errors.Is(err, ErrNotFound) {
								if parent == s.key(p.ID).String() {
									return
								}
								parent = s.key(p.ID).String() // the child went; back to the top
								continue
							}
							if err != nil {
								t.Errorf("create: %v", err)
								return
							}
							cmu.Lock()
							created = append(created, e)
							cmu.Unlock()
							if i%3 == 0 {
								parent = s.key(e.ID).String()
							}
						}
					})
				}
				close(start)
				time.Sleep(time.Millisecond)
				if err := s.Revoke(ctx, p.ID); err != nil {
					t.Fatalf("round %d: revoke: %v", round, err)
				}
				wg.Wait()
				for _, e := range created {
					if _, err := s.Lookup(ctx, e.ID); !errors.Is(err, ErrNotFound) {
						t.Errorf("round %d: child outlived its revoked parent: %v", round, err)
					}
					mu.Lock()
					seen := revoked[e.Accessor]
					mu.Unlock()
					if !seen {
						t.Errorf("round %d: child removed without OnRevoke", round)
					}
				}
			}
			// Nothing is left in storage but the store's own keys.
			for _, prefix := range []string{idPrefix, accessorPrefix, parentPrefix} {
				if names, err := db.List(ctx, prefix); err != nil || len(names) != 0 {
					t.Errorf("%s left in storage: %v %v", prefix, names, err)
				}
			}
		})
	}
}
