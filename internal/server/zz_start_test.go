package server

import (
	"context"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/seal"
)

func TestZZStartPhases(t *testing.T) {
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		cfg := &config.Config{Storage: &config.Storage{Type: "inmem"}, Listeners: []config.Listener{{Type: "tcp", Address: "127.0.0.1:0", TLSDisable: true}}}
		srv, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := srv.Listen(); err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		ctx := context.Background()
		keys, root, err := srv.Core.Initialize(ctx, seal.Config{SecretShares: 1, SecretThreshold: 1}, "")
		t3 := time.Now()
		_, _ = srv.Core.Unseal(ctx, keys[0])
		t4 := time.Now()
		_ = root
		t.Logf("new %v listen %v init %v unseal %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
		_ = srv.Shutdown(ctx)
	}
}
