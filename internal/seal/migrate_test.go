package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// TestMigration moves a Shamir seal to a static one and back over the
// same store: the same shares work throughout, a plain unseal is refused
// while a migration is pending, and what the old seal kept is deleted.
func TestMigration(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	root := bytes.Repeat([]byte{6}, KeySize)
	shares, err := NewShamir(store).Initialize(ctx, Config{SecretShares: 3, SecretThreshold: 2}, root)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := NewStatic(StaticConfig{CurrentKeyID: "k", CurrentKey: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, KeySize))}, nil)

	steps := []struct {
		name     string
		seal     *Shamir
		wantType string
		gone     string
	}{
		{"shamir to static", NewAuto(store, w), "static", rootKeyKey},
		{"static to shamir", func() *Shamir { s := NewShamir(store); s.SetMigrationSource(w); return s }(), "shamir", wrappedKey},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s := st.seal
			if !s.MigrationPending(ctx) {
				t.Fatal("no migration pending")
			}
			if _, err := s.Submit(ctx, shares[0]); !errors.Is(err, ErrMigrationPending) {
				t.Fatalf("plain unseal: %v", err)
			}
			if got, err := s.SubmitMigrate(ctx, shares[1]); err != nil || got != nil {
				t.Fatalf("first share: %v", err)
			}
			got, err := s.SubmitMigrate(ctx, shares[2])
			if err != nil || !bytes.Equal(got, root) {
				t.Fatalf("migration: %v", err)
			}
			cfg, _ := s.Config(ctx)
			if cfg.Type != st.wantType || s.MigrationPending(ctx) || cfg.SecretThreshold != 2 {
				t.Fatalf("after: %+v", cfg)
			}
			if _, err := store.Get(ctx, st.gone); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s left behind: %v", st.gone, err)
			}
			if _, err := s.SubmitMigrate(ctx, shares[0]); !errors.Is(err, ErrNoMigration) {
				t.Fatalf("migrate with nothing pending: %v", err)
			}
			_, _ = s.Submit(ctx, shares[0])
			if got, err := s.Submit(ctx, shares[1]); err != nil || !bytes.Equal(got, root) {
				t.Fatalf("plain unseal after: %v", err)
			}
		})
	}
	// Back on Shamir without the static stanza, nothing is pending.
	if NewShamir(store).MigrationPending(ctx) {
		t.Fatal("migration pending on a plain Shamir seal")
	}
}

// renamed is a Wrapper under another type name, standing in for a second
// kind of auto seal.
type renamed struct {
	Wrapper
	name string
}

func (r renamed) Type() string { return r.name }

// TestMigrationBetweenAutoSeals moves the root key from one auto seal to
// another: the disabled one unwraps, the new one wraps, the recovery
// shares stay.
func TestMigrationBetweenAutoSeals(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	k := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize)) }
	a, _ := NewStatic(StaticConfig{CurrentKeyID: "a", CurrentKey: k(1)}, nil)
	b, _ := NewStatic(StaticConfig{CurrentKeyID: "b", CurrentKey: k(2)}, nil)
	root := bytes.Repeat([]byte{7}, KeySize)
	shares, err := NewAuto(store, a).Initialize(ctx, Config{SecretShares: 2, SecretThreshold: 2}, root)
	if err != nil {
		t.Fatal(err)
	}
	next := NewAuto(store, renamed{b, "transit"})
	// Without the old seal configured, the migration cannot read the key.
	_, _ = next.SubmitMigrate(ctx, shares[0])
	if _, err := next.SubmitMigrate(ctx, shares[1]); err == nil {
		t.Fatal("migrated without the old seal")
	}
	next.SetMigrationSource(a)
	_, _ = next.SubmitMigrate(ctx, shares[0])
	if got, err := next.SubmitMigrate(ctx, shares[1]); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("migration: %v", err)
	}
	if got, err := next.AutoRootKey(ctx); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("the new seal does not unwrap: %v", err)
	}
	if _, err := NewAuto(store, a).AutoRootKey(ctx); err == nil {
		t.Fatal("the old seal still unwraps")
	}
}
