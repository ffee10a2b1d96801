package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// TestCrashKeepsAcknowledgedWrites writes KV v2 secrets from 8 concurrent
// clients, kills the server with SIGKILL at a random moment, restarts and
// unseals it, and checks that every acknowledged write is readable at its
// acknowledged version. TRESOR_CRASH_CYCLES sets the number of cycles
// (default 20).
//
// A write may fail only once the kill is under way: an error before it fails
// the test, and every cycle waits until each writer has had a write
// acknowledged before it kills, so writers that stop working after a restart
// cannot pass unnoticed. A kill keeps the page cache, so this test cannot see
// a missing fsync; TestAcknowledgedWritesAreOnDisk in storage/bolt does.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	cycles := 20
	if v, err := strconv.Atoi(os.Getenv("TRESOR_CRASH_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	if testing.Short() {
		cycles = 3
	}
	if lost := crashCycles(t, cycles, false); lost != "" {
		t.Fatal(lost)
	}
}

// TestCrashHarnessSeesLostWrites is the crash test's negative control: the
// same harness over storage that loses a cycle's writes (the data file
// rolled back to its state before the cycle, as a disk that acknowledged
// writes it never kept would leave it) must report the loss. Without it, a
// green crash test could come from a harness that checks nothing.
func TestCrashHarnessSeesLostWrites(t *testing.T) {
	if lost := crashCycles(t, 1, true); lost == "" {
		t.Fatal("the crash harness reported no loss over storage that lost every write of the cycle")
	} else {
		t.Logf("reported as it must: %s", lost)
	}
}

// crashCycles runs the crash harness and returns the first acknowledged
// write found missing after a restart ("" when none is). With loseWrites,
// the data file is put back as it was before each cycle while the server
// is down.
func crashCycles(t *testing.T, cycles int, loseWrites bool) string {
	p := newProc(t)
	p.start()
	c := p.client("")
	init := initOne(t, c)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	// Keep every version, so that every acknowledged one can be checked.
	if _, err := c.Logical().Write("secret/config", map[string]any{"max_versions": 1000000}); err != nil {
		t.Fatal(err)
	}

	const writers = 8
	// acked[w][version] = value the server acknowledged.
	acked := make([]map[int]string, writers)
	for i := range acked {
		acked[i] = map[int]string{}
	}
	var mu sync.Mutex
	ctx := context.Background()
	dbFile := filepath.Join(p.dataDir, "tresor.db")
	for cycle := 0; cycle < cycles; cycle++ {
		var before []byte
		if loseWrites {
			var err error
			if before, err = os.ReadFile(dbFile); err != nil {
				t.Fatal(err)
			}
		}
		stop := make(chan struct{})
		var killing atomic.Bool
		progress := make([]atomic.Int64, writers) // writes acknowledged this cycle
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := p.client(init.RootToken)
				kv := cl.KVv2("secret")
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					val := fmt.Sprintf("c%d-w%d-n%d", cycle, w, n)
					sec, err := kv.Put(ctx, fmt.Sprintf("w%d", w), map[string]any{"v": val})
					if err != nil {
						if !killing.Load() {
							t.Errorf("cycle %d: writer %d failed before the kill: %v", cycle, w, err)
						}
						return // the server died under us: not acknowledged
					}
					mu.Lock()
					acked[w][sec.VersionMetadata.Version] = val
					mu.Unlock()
					progress[w].Add(1)
				}
			}()
		}
		// Kill only once every writer has been acknowledged at least once
		// since the restart, at a random moment after that.
		for w := range progress {
			deadline := time.Now().Add(time.Minute)
			for progress[w].Load() == 0 && !t.Failed() {
				if time.Now().After(deadline) {
					t.Errorf("cycle %d: writer %d had no write acknowledged in a minute", cycle, w)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rand.IntN(250)) * time.Millisecond)
		killing.Store(true)
		p.stop(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		if t.Failed() {
			t.Fatalf("cycle %d: writers failed; server output:\n%s", cycle, p.logs)
		}

		if loseWrites {
			if err := os.WriteFile(dbFile, before, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		p.start()
		c = p.client(init.RootToken)
		unseal(t, c, init.Keys[0])
		kv := c.KVv2("secret")
		for w := 0; w < writers; w++ {
			for version, want := range acked[w] {
				got, err := kv.GetVersion(ctx, fmt.Sprintf("w%d", w), version)
				if err != nil || got.Data["v"] != want {
					return fmt.Sprintf("cycle %d: writer %d version %d: got %v (%v), want %q", cycle, w, version, got, err, want)
				}
			}
		}
	}
	total := 0
	for _, m := range acked {
		total += len(m)
	}
	t.Logf("%d cycles, %d acknowledged writes, all present after SIGKILL", cycles, total)
	if total == 0 {
		t.Fatal("no write was ever acknowledged")
	}
	return ""
}
