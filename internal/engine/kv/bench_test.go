package kv

import (
	"context"
	"fmt"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func benchBackend(b *testing.B) (*Backend, *inmem.Store) {
	s := inmem.New()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: s, Options: map[string]string{"version": "2"}})
	if err != nil {
		b.Fatal(err)
	}
	return lb.(*Backend), s
}

var benchSecret = map[string]any{"username": "app", "password": "correct-horse-battery-staple", "port": 5432}

func BenchmarkV2Read(b *testing.B) {
	kv, s := benchBackend(b)
	ctx := context.Background()
	for range 5 { // a few versions in the metadata, as in real life
		if _, err := kv.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "data/app/db", Storage: s, Data: map[string]any{"data": benchSecret}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := kv.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "data/app/db", Storage: s})
		if err != nil || resp.Data["data"] == nil {
			b.Fatal(resp, err)
		}
	}
}

func BenchmarkV2Write(b *testing.B) {
	kv, s := benchBackend(b)
	ctx := context.Background()
	paths := make([]string, 1000)
	for i := range paths {
		paths[i] = fmt.Sprintf("data/app/%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: paths[i%len(paths)], Storage: s, Data: map[string]any{"data": benchSecret}}
		if _, err := kv.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearch compares a search (recursive LIST with a filter) with
// the plain recursive LIST it is built on, over 5,000 secrets in 50
// folders: the filter's cost is the glob per key, the walk is the same.
func BenchmarkSearch(b *testing.B) {
	kv, s := benchBackend(b)
	ctx := context.Background()
	for i := range 5000 {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: fmt.Sprintf("data/team-%d/svc-%d/db", i%50, i), Storage: s, Data: map[string]any{"data": benchSecret}}
		if _, err := kv.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, filter string }{
		{"recursive-list", ""},
		{"filter-contains", "svc-42"},
		{"filter-glob", "team-4*/svc-*9/db"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := map[string]any{"recursive": true, "limit": 10000}
			if tc.filter != "" {
				data["filter"] = tc.filter
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := kv.HandleRequest(ctx, &logical.Request{Operation: logical.ListOperation, Path: "metadata/", Storage: s, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGlobMatch(b *testing.B) {
	for b.Loop() {
		globMatch("*team-4*/svc-*9/db*", "team-41/svc-3429/db")
	}
}
