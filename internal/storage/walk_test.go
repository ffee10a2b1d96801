package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestWalkAndClear(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	for _, k := range []string{"a", "b/c", "b/d/e", "b/d/f", "keep/x", "bx"} {
		_ = s.Put(ctx, &storage.Entry{Key: k, Value: []byte("v")})
	}
	var got []string
	if err := storage.Walk(ctx, s, "b/", func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"b/c", "b/d/e", "b/d/f"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	if err := storage.Clear(ctx, s, "b/"); err != nil {
		t.Fatal(err)
	}
	left, _ := s.List(ctx, "")
	if want := []string{"a", "bx", "keep/"}; !reflect.DeepEqual(left, want) {
		t.Fatalf("after Clear: %v, want %v", left, want)
	}
}

// Clear commits in batches; more keys than one batch must all go.
func TestClearManyKeys(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	for i := range 1500 {
		_ = s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("m/%d/k%d", i%7, i), Value: []byte("v")})
	}
	_ = s.Put(ctx, &storage.Entry{Key: "other", Value: []byte("v")})
	if err := storage.Clear(ctx, s, "m/"); err != nil {
		t.Fatal(err)
	}
	left, _ := s.List(ctx, "")
	if want := []string{"other"}; !reflect.DeepEqual(left, want) {
		t.Fatalf("after Clear: %v, want %v", left, want)
	}
}
