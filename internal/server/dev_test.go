package server_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// lockedBuffer is an output buffer a running process writes while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDevProc runs `tresor server -dev args...` with HOME set to home and
// extra environment variables, and waits until addr answers sys/health.
// The process is stopped when the test ends.
func startDevProc(t *testing.T, home, addr string, env []string, args ...string) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(tresorBin, append([]string{"server", "-dev"}, args...)...)
	// The test's own environment must not leak a VAULT_DEV_* setting in.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "VAULT_DEV_") || strings.HasPrefix(kv, "HOME=")
	})
	cmd.Env = append(cmd.Env, append([]string{"HOME=" + home}, env...)...)
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			// The banner was written before the server began to serve,
			// but reaches out through a pipe copied by another
			// goroutine: wait for it too.
			if resp.StatusCode == http.StatusOK && strings.Contains(out.String(), "Development mode must NOT be used in production") {
				return out
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("dev server did not answer on %s with its banner within 10s; output:\n%s", addr, out)
	return nil
}

// TestDevServerFlagsAndEnvironment checks the README's dev-mode promises:
// -dev-root-token-id and -dev-listen-address, their VAULT_DEV_ROOT_TOKEN_ID
// and VAULT_DEV_LISTEN_ADDRESS variables (the flags win when both are set),
// the root token stored in ~/.vault-token (mode 0600) unless
// -dev-no-store-token, and a server that is unsealed with KV v2 at secret/.
func TestDevServerFlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		// args and env get the listen address substituted for {addr} and an
		// unused address for {other}.
		args, env []string
		token     string // the root token wanted; "" means random
		// oldTokenFile is written to ~/.vault-token before the start.
		oldTokenFile string
		wantStored   bool
	}{
		{name: "flags",
			args:  []string{"-dev-root-token-id=flag-root", "-dev-listen-address={addr}"},
			token: "flag-root", wantStored: true},
		{name: "environment",
			env:   []string{"VAULT_DEV_ROOT_TOKEN_ID=env-root", "VAULT_DEV_LISTEN_ADDRESS={addr}"},
			token: "env-root", wantStored: true},
		{name: "flags win over the environment",
			args:  []string{"-dev-root-token-id=flag-root", "-dev-listen-address={addr}"},
			env:   []string{"VAULT_DEV_ROOT_TOKEN_ID=env-root", "VAULT_DEV_LISTEN_ADDRESS={other}"},
			token: "flag-root", wantStored: true},
		{name: "random root token, stored",
			args: []string{"-dev-listen-address={addr}"}, wantStored: true},
		{name: "dev-no-store-token leaves the token file alone",
			args:         []string{"-dev-root-token-id=flag-root", "-dev-listen-address={addr}", "-dev-no-store-token"},
			token:        "flag-root",
			oldTokenFile: "an-older-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			tokenFile := filepath.Join(home, ".vault-token")
			if tt.oldTokenFile != "" {
				if err := os.WriteFile(tokenFile, []byte(tt.oldTokenFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			addr, other := freePort(t), freePort(t)
			subst := func(in []string) []string {
				out := make([]string, len(in))
				for i, s := range in {
					out[i] = strings.NewReplacer("{addr}", addr, "{other}", other).Replace(s)
				}
				return out
			}
			out := startDevProc(t, home, addr, subst(tt.env), subst(tt.args)...)

			stored, err := os.ReadFile(tokenFile)
			switch {
			case tt.wantStored && err != nil:
				t.Fatalf("~/.vault-token: %v", err)
			case tt.wantStored && tt.token != "" && string(stored) != tt.token:
				t.Fatalf("~/.vault-token holds %q, want %q", stored, tt.token)
			case !tt.wantStored && string(stored) != tt.oldTokenFile:
				t.Fatalf("~/.vault-token holds %q after -dev-no-store-token, want %q untouched", stored, tt.oldTokenFile)
			}
			if tt.wantStored {
				if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("~/.vault-token mode: %v %v, want 0600", fi.Mode(), err)
				}
			}
			token := tt.token
			if token == "" {
				token = string(stored)
			}
			if !strings.Contains(out.String(), "Root Token: "+token+"\n") {
				t.Errorf("banner does not show the root token %q:\n%s", token, out)
			}

			cfg := api.DefaultConfig()
			cfg.Address = "http://" + addr
			c, err := api.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.SetToken(token)
			self, err := c.Auth().Token().LookupSelf()
			if err != nil {
				t.Fatalf("lookup-self with the root token: %v", err)
			}
			if pols, _ := self.TokenPolicies(); !slices.Contains(pols, "root") {
				t.Fatalf("root token policies = %v", pols)
			}
			if _, err := c.KVv2("secret").Put(context.Background(), "dev", map[string]any{"k": "v"}); err != nil {
				t.Fatalf("KV v2 at secret/: %v", err)
			}
			if resp, err := http.Get("http://" + other + "/v1/sys/health"); err == nil {
				resp.Body.Close()
				t.Fatalf("something answers on the address the flag overrode (%s)", other)
			}
		})
	}
}
