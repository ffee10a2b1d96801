package token

import (
	"context"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// FuzzLookup: any string presented as a token — service, batch, an
// accessor, garbage — is either a live token or ErrNotFound, never a panic.
func FuzzLookup(f *testing.F) {
	ctx := context.Background()
	s, err := Open(ctx, inmem.New(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	svc, _ := s.Create(ctx, &Entry{Policies: []string{"default"}})
	bat, _ := s.Create(ctx, &Entry{Policies: []string{"default"}, Type: TypeBatch})
	for _, seed := range []string{svc.ID, bat.ID, svc.Accessor, "hvb.", "hvb.AAAA", "hvs.", "", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		e, err := s.Lookup(ctx, id)
		if err == nil && e == nil {
			t.Fatal("nil entry without an error")
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Lookup(%q): %v", id, err)
		}
		if err == nil && id != svc.ID && id != bat.ID {
			t.Fatalf("Lookup(%q) found a token", id)
		}
	})
}
