package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// TestPersistentDevServer starts `server -dev -dev-data-dir=DIR` four
// times: the first start initialises it and keeps its unseal key and root
// token under ~/.config/tresor (0700 directory, 0600 files); every later
// start unseals itself, keeps the data written before and the same root
// token.
func TestPersistentDevServer(t *testing.T) {
	home, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	var root string
	for start := range 4 {
		cmd := exec.Command(tresorBin, "server", "-dev", "-dev-data-dir="+data, "-dev-listen-address="+addr, "-dev-root-token-id=first-token")
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "VAULT_DEV_") || strings.HasPrefix(kv, "HOME=")
		})
		cmd.Env = append(cmd.Env, "HOME="+home)
		out := new(lockedBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := waitDevReady(t, addr, out)
		tokens, _ := filepath.Glob(filepath.Join(home, ".config", "tresor", "dev-*", "root-token"))
		if len(tokens) != 1 {
			t.Fatalf("start %d: root token files %v; output:\n%s", start, tokens, out)
		}
		raw, err := os.ReadFile(tokens[0])
		if err != nil {
			t.Fatal(err)
		}
		if start == 0 {
			root = strings.TrimSpace(string(raw))
		}
		if got := strings.TrimSpace(string(raw)); got != root || root != "first-token" {
			t.Fatalf("start %d: root token %q, want the first start's %q", start, got, root)
		}
		for _, f := range []string{tokens[0], filepath.Join(filepath.Dir(tokens[0]), "unseal-key")} {
			if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("start %d: %s: %v, mode %v; want 0600", start, f, err, st.Mode().Perm())
			}
		}
		if st, err := os.Stat(filepath.Dir(tokens[0])); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("start %d: key directory mode %v; want 0700", start, st.Mode().Perm())
		}
		// The warning was printed before the server began to serve, but
		// reaches out through a pipe copied by another goroutine.
		for i := 0; i < 250 && !strings.Contains(out.String(), "development only"); i++ {
			sleepBriefly()
		}
		if !strings.Contains(out.String(), "development only") {
			t.Errorf("start %d: no loud warning in the output:\n%s", start, out)
		}
		c.SetToken(root)
		kv := c.KVv2("secret")
		// Everything written at earlier starts is still there.
		for earlier := range start {
			sec, err := kv.Get(context.Background(), "app"+string(rune('0'+earlier)))
			if err != nil || sec.Data["n"] != string(rune('0'+earlier)) {
				t.Fatalf("start %d: secret of start %d: %v %v", start, earlier, sec, err)
			}
		}
		if _, err := kv.Put(context.Background(), "app"+string(rune('0'+start)), map[string]any{"n": string(rune('0' + start))}); err != nil {
			t.Fatalf("start %d: write: %v", start, err)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

// waitDevReady waits until the dev server at addr answers sys/health with
// 200 (initialised and unsealed) and returns a client for it.
func waitDevReady(t *testing.T, addr string, out *lockedBuffer) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = "http://" + addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 500 {
		if h, err := c.Sys().Health(); err == nil && h.Initialized && !h.Sealed {
			return c
		}
		sleepBriefly()
	}
	t.Fatalf("dev server on %s not ready; output:\n%s", addr, out)
	return nil
}

func sleepBriefly() { time.Sleep(20 * time.Millisecond) }
