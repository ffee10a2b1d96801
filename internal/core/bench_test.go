package core_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/server"
)

// benchCore is an unsealed core over bolt storage (fsync on) with KV v2 at
// secret/, driven through core.Handle without HTTP.
func benchCore(b *testing.B) (*server.Server, string) {
	b.Helper()
	srv, err := server.New(&config.Config{
		Storage:         &config.Storage{Type: "file", Path: b.TempDir()},
		DefaultLeaseTTL: config.DefaultLeaseTTL, MaxLeaseTTL: config.DefaultMaxLeaseTTL,
	}, server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	_, root, err := srv.InitDev(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	return srv, root
}

func kvWrite(path, token string, i int) *logical.Request {
	return &logical.Request{
		Operation: logical.UpdateOperation, Path: path, ClientToken: token,
		Data: map[string]any{"data": map[string]any{"password": fmt.Sprintf("value-%d", i), "user": "app"}},
	}
}

func BenchmarkKVv2ReadHandle(b *testing.B) {
	srv, root := benchCore(b)
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := srv.Core.Handle(ctx, kvWrite(fmt.Sprintf("secret/data/k%d", i), root, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := &logical.Request{Operation: logical.ReadOperation, Path: fmt.Sprintf("secret/data/k%d", i%100), ClientToken: root}
			if _, err := srv.Core.Handle(ctx, req); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkKVv2WriteHandle(b *testing.B) {
	srv, root := benchCore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16) // 32 writers on 2 cores: group commit at work
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := srv.Core.Handle(ctx, kvWrite(fmt.Sprintf("secret/data/w%d", i%1000), root, i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkKVv2ReadHandleAudit is BenchmarkKVv2ReadHandle with a file
// audit device recording every request and response.
func BenchmarkKVv2ReadHandleAudit(b *testing.B) {
	srv, root := benchCore(b)
	ctx := context.Background()
	if err := srv.Core.EnableAudit(ctx, &audit.DeviceConfig{Path: "file/", Type: "file", Options: map[string]string{"file_path": filepath.Join(b.TempDir(), "audit.log")}}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := srv.Core.Handle(ctx, kvWrite(fmt.Sprintf("secret/data/k%d", i), root, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := &logical.Request{Operation: logical.ReadOperation, Path: fmt.Sprintf("secret/data/k%d", i%100), ClientToken: root}
			if _, err := srv.Core.Handle(ctx, req); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
