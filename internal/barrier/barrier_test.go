package barrier

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

var testRootKey = bytes.Repeat([]byte{0x42}, 32)

// newUnsealed returns an initialised, unsealed barrier and its underlying
// store.
func newUnsealed(t testing.TB) (*Barrier, *inmem.Store) {
	t.Helper()
	ctx := context.Background()
	under := inmem.New()
	b := New(under)
	if err := b.Initialize(ctx, testRootKey); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if err := b.Unseal(ctx, testRootKey); err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	return b, under
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	under := inmem.New()
	b := New(under)

	if ok, err := b.Initialized(ctx); err != nil || ok {
		t.Fatalf("Initialized before Initialize = %v, %v; want false, nil", ok, err)
	}
	if !b.Sealed() {
		t.Fatal("new barrier is not sealed")
	}
	if err := b.Unseal(ctx, testRootKey); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Unseal before Initialize: %v, want ErrNotInitialized", err)
	}
	if err := b.Initialize(ctx, testRootKey[:16]); !errors.Is(err, ErrBadRootKey) {
		t.Fatalf("Initialize with a 16-byte key: %v, want ErrBadRootKey", err)
	}
	if err := b.Initialize(ctx, testRootKey); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if ok, err := b.Initialized(ctx); err != nil || !ok {
		t.Fatalf("Initialized after Initialize = %v, %v; want true, nil", ok, err)
	}
	if !b.Sealed() {
		t.Fatal("Initialize unsealed the barrier")
	}
	if err := b.Initialize(ctx, testRootKey); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second Initialize: %v, want ErrAlreadyInitialized", err)
	}

	wrong := bytes.Repeat([]byte{0x43}, 32)
	if err := b.Unseal(ctx, wrong); !errors.Is(err, ErrBadRootKey) {
		t.Fatalf("Unseal with the wrong key: %v, want ErrBadRootKey", err)
	}
	if err := b.Unseal(ctx, testRootKey[:31]); !errors.Is(err, ErrBadRootKey) {
		t.Fatalf("Unseal with a short key: %v, want ErrBadRootKey", err)
	}
	if !b.Sealed() {
		t.Fatal("failed Unseal unsealed the barrier")
	}
	if err := b.Unseal(ctx, testRootKey); err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	if b.Sealed() {
		t.Fatal("barrier sealed after Unseal")
	}
	ki, err := b.KeyStatus()
	if err != nil {
		t.Fatalf("KeyStatus: %v", err)
	}
	if ki.Term != 1 || ki.InstallTime.IsZero() {
		t.Errorf("KeyStatus = %+v, want term 1 with an install time", ki)
	}

	// A failed Unseal of an unsealed barrier leaves it working.
	if err := b.Unseal(ctx, wrong); !errors.Is(err, ErrBadRootKey) {
		t.Fatalf("Unseal with the wrong key: %v, want ErrBadRootKey", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("Put after failed re-Unseal: %v", err)
	}
}

func TestTamperedKeyring(t *testing.T) {
	ctx := context.Background()
	_, under := newUnsealed(t)
	e, err := under.Get(ctx, keyringKey)
	if err != nil {
		t.Fatal(err)
	}
	e.Value[len(e.Value)-1] ^= 1
	if err := under.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := New(under).Unseal(ctx, testRootKey); !errors.Is(err, ErrBadRootKey) {
		t.Fatalf("Unseal of a tampered keyring: %v, want ErrBadRootKey", err)
	}
}

func TestSealed(t *testing.T) {
	ctx := context.Background()
	b, _ := newUnsealed(t)
	if err := b.Put(ctx, &storage.Entry{Key: "a", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if !b.Sealed() {
		t.Fatal("Sealed() = false after Seal")
	}
	ops := map[string]func() error{
		"Get":    func() error { _, err := b.Get(ctx, "a"); return err },
		"List":   func() error { _, err := b.List(ctx, ""); return err },
		"Put":    func() error { return b.Put(ctx, &storage.Entry{Key: "b", Value: []byte("2")}) },
		"Delete": func() error { return b.Delete(ctx, "a") },
		"Update": func() error { return b.Update(ctx, func(storage.Tx) error { return nil }) },
		"Rotate": func() error { _, err := b.Rotate(ctx); return err },
		"KeyStatus": func() error {
			_, err := b.KeyStatus()
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, ErrSealed) {
				t.Errorf("%s while sealed: %v, want ErrSealed", name, err)
			}
		})
	}

	if err := b.Unseal(ctx, testRootKey); err != nil {
		t.Fatalf("Unseal again: %v", err)
	}
	e, err := b.Get(ctx, "a")
	if err != nil || string(e.Value) != "1" {
		t.Fatalf("Get after re-Unseal = %v, %v", e, err)
	}
}

func TestSealZeroesKeys(t *testing.T) {
	b, _ := newUnsealed(t)
	ring, err := b.keys()
	if err != nil {
		t.Fatal(err)
	}
	key := ring.active().key
	b.Seal()
	if !bytes.Equal(key, make([]byte, keySize)) {
		t.Error("data key not zeroed by Seal")
	}
}
