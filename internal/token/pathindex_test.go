package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// TestPathIndex: tokens with a TTL are listed under their creation path
// from creation to revocation; a view written before the index existed is
// backfilled.
func TestPathIndex(t *testing.T) {
	ctx := context.Background()
	backing := inmem.New()
	s, err := Open(ctx, backing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Create(ctx, &Entry{Policies: []string{"default"}, Path: "auth/token/create", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.Create(ctx, &Entry{Policies: []string{"root"}, Path: "auth/token/root"})
	if err != nil {
		t.Fatal(err)
	}
	_ = root
	k := s.key(e.ID).String()
	list := func(prefix string) []string {
		t.Helper()
		got, err := s.ListLeases(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := list("auth/token"); !slices.Equal(got, []string{"create/"}) {
		t.Fatalf("auth/token: %v (a root token without TTL has no lease)", got)
	}
	if got := list("auth/token/create/"); !slices.Equal(got, []string{k}) {
		t.Fatalf("auth/token/create/: %v", got)
	}
	if got, err := s.LookupLease(ctx, "auth/token/create/"+k); err != nil || got.Accessor != e.Accessor {
		t.Fatalf("lookup: %v %v", got, err)
	}
	if _, err := s.LookupLease(ctx, "auth/approle/login/"+k); err == nil {
		t.Fatal("lookup under another path found the token")
	}

	// An older view: drop the index and its mark; Start backfills.
	if err := backing.Delete(ctx, pathPrefix+"auth/token/create/"+k); err != nil {
		t.Fatal(err)
	}
	if err := backing.Delete(ctx, pathIndexKey); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, backing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Start(ctx)
	defer s2.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got, _ := s2.ListLeases(ctx, "auth/token/create"); slices.Equal(got, []string{k}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("path index not backfilled")
		}
	}

	if err := s2.RevokeLease(ctx, "auth/token/create/"+k); err != nil {
		t.Fatal(err)
	}
	if got := list("auth/token/create"); len(got) != 0 {
		t.Fatalf("after revoke: %v", got)
	}
}
