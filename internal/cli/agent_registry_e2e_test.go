package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestAgentRegistryCommand(t *testing.T) {
	srv := secretServer(t)
	c := srv.Client
	if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("m1", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/approle/role/m1", map[string]any{"token_policies": "m1"}); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Logical().Read("auth/approle/role/m1/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.Logical().Write("auth/approle/role/m1/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, v := range map[string]any{"role-id": rid.Data["role_id"], "secret-id": sid.Data["secret_id"]} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v.(string)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`machines:
  m1:
    vault_role_id_file: %[1]s/role-id
    vault_secret_id_file: %[1]s/secret-id
services:
  app:
    machine: m1
    command: ["sh", "-c", "env > \"$DIR/app.tmp\"; mv \"$DIR/app.tmp\" \"$DIR/app.env\"; exec sleep 60"]
    vault_secrets:
      - path: secret/data/app
        mapping: { password: APP_PASSWORD }
`, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"PATH": os.Getenv("PATH"), "VAULT_ADDR": srv.Addr, "DIR": dir}
	env := Env{
		Getenv: func(k string) string { return vars[k] },
		Environ: func() []string {
			var out []string
			for k, v := range vars {
				out = append(out, k+"="+v)
			}
			return out
		},
		HomeDir: t.TempDir(),
	}

	var stdout, stderr lockedWriter
	e := env
	e.Stdout, e.Stderr = &stdout, &stderr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"agent", "-registry", file, "-machine", "m1"}, e) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(readTestFile(filepath.Join(dir, "app.env")), "APP_PASSWORD=s3cret-pw\n") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the service did not start; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := readTestFile(filepath.Join(dir, "app.env")); strings.Contains(got, "VAULT_ADDR") || strings.Contains(got, "API_KEY") {
		t.Errorf("the service sees more than its variables:\n%s", got)
	}
	// The agent records the running state and the versions just after it
	// renders the file: ask again until it has (bounded).
	statusOK := func(r result) bool {
		return r.code == 0 && strings.Contains(r.stdout, "app\n  machine        m1\n  state          running") && strings.Contains(r.stdout, "secret/data/app v1")
	}
	r := runWithEnv(t, vars, "agent", "-registry", file, "status")
	for deadline := time.Now().Add(10 * time.Second); !statusOK(r) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		r = runWithEnv(t, vars, "agent", "-registry", file, "status")
	}
	if !statusOK(r) {
		t.Errorf("status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not stop")
	}
	if strings.Contains(stderr.String(), "s3cret-pw") {
		t.Errorf("a secret value in the log:\n%s", stderr.String())
	}

	t.Run("bad registry", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yml")
		os.WriteFile(bad, []byte("machines:\n  m1: {}\nservices:\n  a:\n    machine: m2\n"), 0o600)
		r := runWithEnv(t, vars, "agent", "-registry", bad, "-machine", "m1")
		if r.code != 1 || !strings.Contains(r.stderr, bad+`:5: service "a": unknown machine "m2"`) {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("missing machine flag", func(t *testing.T) {
		r := runWithEnv(t, vars, "agent", "-registry", file)
		if r.code != 1 || !strings.Contains(r.stderr, "-machine") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
	t.Run("no status file", func(t *testing.T) {
		r := runWithEnv(t, vars, "agent", "-registry", filepath.Join(t.TempDir(), "r.yml"), "status")
		if r.code != 1 || !strings.Contains(r.stderr, "No status file") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
	})
}

func readTestFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
