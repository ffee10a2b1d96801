package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestSealDuringSysRequests seals and unseals while other clients hammer
// sys/ endpoints that read core state (metrics, mounts). A request must
// never re-take the core's state lock: behind a waiting Seal that would
// deadlock.
func TestSealDuringSysRequests(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientWith(t, s, s.RootToken)
			for ctx.Err() == nil {
				_, _ = c.Logical().ReadWithData("sys/metrics", map[string][]string{"format": {"prometheus"}})
				_, _ = c.Sys().ListMounts()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			if err := s.Client.Sys().Seal(); err != nil {
				t.Errorf("seal %d: %v", i, err)
				return
			}
			if _, err := s.Client.Sys().Unseal(s.UnsealKeys[0]); err != nil {
				t.Errorf("unseal %d: %v", i, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("seal/unseal cycles stalled behind sys requests: deadlock")
	}
	cancel()
	wg.Wait()
}
