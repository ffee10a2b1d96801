package core_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
)

// fillEngine writes count entries into its storage in one transaction on
// a write of fill, so a test can make a large mount quickly.
type fillEngine struct{ s storage.Store }

func (e *fillEngine) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Path != "fill" || req.Operation == logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	n, _ := strconv.Atoi(fmt.Sprint(req.Data["count"]))
	from, _ := strconv.Atoi(fmt.Sprint(req.Data["from"]))
	return nil, e.s.Update(ctx, func(tx storage.Tx) error {
		for i := from; i < from+n; i++ {
			k := fmt.Sprintf("app%d/secret%d", i%100, i)
			if err := tx.Put(ctx, &storage.Entry{Key: k, Value: []byte("v")}); err != nil {
				return err
			}
		}
		return nil
	})
}

var fillBackends = map[string]logical.Factory{
	"fill": func(_ context.Context, c *logical.BackendConfig) (logical.Backend, error) {
		return &fillEngine{s: c.Storage}, nil
	},
}

// An unmount whose client gives up at once still clears every entry of the
// mount, across a restart that interrupts the clearing; the path is
// reusable at once.
func TestUnmountOutlivesClientAndRestart(t *testing.T) {
	dir := t.TempDir()
	st := &config.Storage{Type: "file", Path: dir, Config: map[string]string{"path": dir}}
	s := servertest.New(t, servertest.Options{Storage: st, Backends: fillBackends})
	c := s.Client
	if err := c.Sys().Mount("big", &api.MountInput{Type: "fill"}); err != nil {
		t.Fatal(err)
	}
	// 20,000 entries here (the race detector slows the fill);
	// TRESOR_UNMOUNT_KEYS=100000 runs the full size.
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("TRESOR_UNMOUNT_KEYS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < n; i += 2000 {
		if _, err := c.Logical().Write("big/fill", map[string]any{"count": min(2000, n-i), "from": i}); err != nil {
			t.Fatal(err)
		}
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "logical/" + mounts["big/"].UUID + "/"

	// A client that hangs up after a few milliseconds.
	req, _ := http.NewRequest(http.MethodDelete, s.Addr+"/v1/sys/mounts/big", nil)
	req.Header.Set("X-Vault-Token", s.RootToken)
	impatient := &http.Client{Timeout: 5 * time.Millisecond}
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
	}
	// The path is free at once (after the unmount itself commits).
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Sys().Mount("big", &api.MountInput{Type: "kv"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remount big/: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Stop the server at once, most likely part-way through the clearing.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Restart on the same file and unseal: the clearing resumes. Each round
	// gives it a moment, stops the server again and reads the raw file.
	var old, owed int
	for round := 0; ; round++ {
		s2 := servertest.New(t, servertest.Options{Storage: st, Backends: fillBackends, Uninitialized: true})
		if _, err := s2.Client.Sys().Unseal(s.UnsealKeys[0]); err != nil {
			t.Fatal(err)
		}
		s2.Client.SetToken(s.RootToken)
		if sec, err := s2.Client.Logical().Read("sys/mounts/big"); err != nil || sec == nil {
			t.Fatalf("the new big/ mount after restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
		if err := s2.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		old, owed = rawCount(t, filepath.Join(dir, "tresor.db"), prefix)
		if old == 0 && owed == 0 {
			break
		}
		if round == 40 {
			t.Fatalf("after %d restarts: %d entries of the unmounted mount and %d owed cleanups left in storage", round+1, old, owed)
		}
	}
}

// rawCount opens the bolt file itself and counts the keys below prefix
// and the owed cleanup records.
func rawCount(t *testing.T, file, prefix string) (old, owed int) {
	t.Helper()
	db, err := bolt.Open(file, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = storage.Walk(context.Background(), db, "", func(k string) error {
		if strings.HasPrefix(k, prefix) {
			old++
		}
		if strings.HasPrefix(k, "core/cleanup/") {
			owed++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return old, owed
}
