package barrier

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

func termOnDisk(t *testing.T, s storage.Store, key string) uint32 {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(e.Value[1:headerSize])
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	put := func(k, v string) {
		t.Helper()
		if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	put("old", "written under term 1")
	if ki, _ := b.KeyStatus(); ki.Encryptions != 1 {
		t.Errorf("Encryptions = %d after one Put, want 1", ki.Encryptions)
	}

	for want := uint32(2); want <= 4; want++ {
		ki, err := b.Rotate(ctx)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if ki.Term != want || ki.Encryptions != 0 {
			t.Fatalf("Rotate = %+v, want term %d with 0 encryptions", ki, want)
		}
	}
	put("new", "written under term 4")
	if got := termOnDisk(t, under, "old"); got != 1 {
		t.Errorf("old entry has term %d, want 1", got)
	}
	if got := termOnDisk(t, under, "new"); got != 4 {
		t.Errorf("new entry has term %d, want 4", got)
	}

	check := func(b *Barrier) {
		t.Helper()
		for k, v := range map[string]string{"old": "written under term 1", "new": "written under term 4"} {
			e, err := b.Get(ctx, k)
			if err != nil || string(e.Value) != v {
				t.Errorf("Get(%q) = %v, %v; want %q", k, e, err, v)
			}
		}
		ki, err := b.KeyStatus()
		if err != nil || ki.Term != 4 {
			t.Errorf("KeyStatus = %+v, %v; want term 4", ki, err)
		}
	}
	check(b)

	// The rotated keyring is durable: a fresh barrier over the same store
	// (a restarted server) sees every term.
	b.Seal()
	if err := b.Unseal(ctx, testRootKey); err != nil {
		t.Fatal(err)
	}
	check(b)
	fresh := New(under)
	if err := fresh.Unseal(ctx, testRootKey); err != nil {
		t.Fatal(err)
	}
	check(fresh)
}

// failingStore fails every Put, to check Rotate changes nothing when it
// cannot persist the keyring.
type failingStore struct{ storage.Store }

var errDiskFull = errors.New("disk full")

func (failingStore) Put(context.Context, *storage.Entry) error { return errDiskFull }

func TestRotateWriteFails(t *testing.T) {
	ctx := context.Background()
	_, under := newUnsealed(t)
	b := New(failingStore{under})
	if err := b.Unseal(ctx, testRootKey); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rotate(ctx); !errors.Is(err, errDiskFull) {
		t.Fatalf("Rotate: %v, want errDiskFull", err)
	}
	if ki, _ := b.KeyStatus(); ki.Term != 1 {
		t.Errorf("term after failed Rotate = %d, want 1", ki.Term)
	}
}

// TestConcurrentRotate writes and reads from several goroutines while
// rotating; run with -race. Every value must read back exactly.
func TestConcurrentRotate(t *testing.T) {
	ctx := context.Background()
	b, _ := newUnsealed(t)
	const workers, writes, rotations = 4, 200, 10

	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Go(func() {
			for i := range writes {
				k := fmt.Sprintf("w%d/%d", w, i)
				v := []byte(k + "-value")
				if err := b.Put(ctx, &storage.Entry{Key: k, Value: v}); err != nil {
					errs <- err
					return
				}
				e, err := b.Get(ctx, k)
				if err != nil || string(e.Value) != string(v) {
					errs <- fmt.Errorf("Get(%q) = %v, %v", k, e, err)
					return
				}
				if i%50 == 0 {
					if _, err := b.KeyStatus(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range rotations {
			if _, err := b.Rotate(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if ki, _ := b.KeyStatus(); ki.Term != 1+rotations {
		t.Errorf("term = %d, want %d", ki.Term, 1+rotations)
	}
	for w := range workers {
		for i := range writes {
			k := fmt.Sprintf("w%d/%d", w, i)
			if e, err := b.Get(ctx, k); err != nil || string(e.Value) != k+"-value" {
				t.Fatalf("Get(%q) after rotations = %v, %v", k, e, err)
			}
		}
	}
}
