package agent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/agent"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/servertest"
)

// leaseEngine hands out a new leased credential on every read of
// creds/<role>, and counts reads and renewals.
type leaseEngine struct {
	ttl           time.Duration
	reads, renews atomic.Int64
}

func (e *leaseEngine) HandleRequest(_ context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	n := e.reads.Add(1)
	user := "v-" + strings.ReplaceAll(req.Path, "/", "-") + "-" + strconv.FormatInt(n, 10)
	return &logical.Response{
		Data:   map[string]any{"username": user, "password": "pw-" + user},
		Secret: &logical.Secret{TTL: e.ttl, Renewable: true},
	}, nil
}

func (e *leaseEngine) RenewSecret(_ context.Context, _ *logical.Request, _ *logical.Secret, inc time.Duration) (time.Duration, error) {
	e.renews.Add(1)
	return inc, nil
}

// testServer is a dev server with KV v2 at secret/, KV v1 at kv1/ and a
// leasing engine at db/ whose leases are capped at maxTTL.
func testServer(t *testing.T, ttl time.Duration, maxTTL string) (*servertest.Server, *leaseEngine) {
	t.Helper()
	eng := &leaseEngine{ttl: ttl}
	s := servertest.New(t, servertest.Options{Backends: map[string]logical.Factory{
		"leasetest": func(context.Context, *logical.BackendConfig) (logical.Backend, error) { return eng, nil },
	}})
	c := s.Client
	if err := c.Sys().Mount("db", &api.MountInput{Type: "leasetest", Config: api.MountConfigInput{MaxLeaseTTL: maxTTL}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	kvPut(t, c, "app", map[string]any{"password": "s3cret-v1", "user": "ann"})
	kvPut(t, c, "app", map[string]any{"password": "s3cret-v2", "user": "ann"})
	if _, err := c.Logical().Write("kv1/legacy", map[string]any{"token": "legacy-tok"}); err != nil {
		t.Fatal(err)
	}
	return s, eng
}

func kvPut(t *testing.T, c *api.Client, p string, data map[string]any) {
	t.Helper()
	if _, err := c.KVv2("secret").Put(context.Background(), p, data); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for a child's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestRunResolvesReferences(t *testing.T) {
	s, eng := testServer(t, time.Hour, "")
	var out, errOut syncBuffer
	code, err := agent.Run(context.Background(), s.Client, agent.RunOptions{
		Env: []string{
			"PATH=" + os.Getenv("PATH"),
			"PLAIN=unchanged",
			"PW=tresor://secret/app#password",
			"USER_API=vault://secret/data/app#user",
			"OLD=dso://secret/app#password?version=1",
			"LEGACY=tresor://kv1/legacy#token",
			"DB_USER=dso://db/creds/app#username",
			"DB_PASS=dso://db/creds/app#password",
		},
		Command: []string{"env"},
		Stdout:  &out, Stderr: &errOut,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; stderr %s", code, err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{"PLAIN=unchanged\n", "PW=s3cret-v2\n", "USER_API=ann\n", "OLD=s3cret-v1\n",
		"LEGACY=legacy-tok\n", "DB_USER=v-creds-app-1\n", "DB_PASS=pw-v-creds-app-1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("env lacks %q:\n%s", want, got)
		}
	}
	if n := eng.reads.Load(); n != 1 {
		t.Errorf("db/creds/app read %d times; want once for both references", n)
	}
}

func TestRunFailsBeforeStarting(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	stopped, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:1", MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	stopped.SetToken("irrelevant")
	tests := []struct {
		name   string
		client *api.Client
		ref    string
	}{
		{"missing path", s.Client, "tresor://secret/nope#password"},
		{"missing key", s.Client, "tresor://secret/app#nope"},
		{"missing version", s.Client, "tresor://secret/app#password?version=9"},
		{"missing v1 path", s.Client, "tresor://kv1/nope#x"},
		{"bad reference", s.Client, "tresor://secret/app"},
		{"server down", stopped, "tresor://secret/app#password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			var out syncBuffer
			_, err := agent.Run(context.Background(), tt.client, agent.RunOptions{
				Env: []string{
					"PATH=" + os.Getenv("PATH"),
					"GOOD=tresor://secret/app#password",
					"BAD=" + tt.ref,
				},
				Command: []string{"touch", marker},
				Stdout:  &out, Stderr: &out,
			})
			var runErr *agent.RunError
			if !errors.As(err, &runErr) {
				t.Fatalf("Run error = %v; want a RunError", err)
			}
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatal("the command was started")
			}
			msg := err.Error()
			if !strings.Contains(msg, strings.TrimSpace(strings.SplitN(tt.ref, "?", 2)[0])) {
				t.Errorf("error does not name the reference %s:\n%s", tt.ref, msg)
			}
			if strings.Contains(msg, "s3cret") || strings.Contains(out.String(), "s3cret") {
				t.Errorf("a secret value leaked:\n%s", msg)
			}
		})
	}
}

func TestRunMask(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	var out syncBuffer
	code, err := agent.Run(context.Background(), s.Client, agent.RunOptions{
		Env:     []string{"PATH=" + os.Getenv("PATH"), "PW=tresor://secret/app#password"},
		Command: []string{"sh", "-c", `echo "password is $PW"; echo "again $PW" >&2`},
		Stdout:  &out, Stderr: &out,
		Mask: true,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if strings.Contains(out.String(), "s3cret") || strings.Count(out.String(), agent.Concealed) != 2 {
		t.Errorf("output not masked:\n%s", out.String())
	}
}

func TestRunExitStatus(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	code, err := agent.Run(context.Background(), s.Client, agent.RunOptions{
		Env:     []string{"PATH=" + os.Getenv("PATH")},
		Command: []string{"sh", "-c", "exit 7"},
	})
	if err != nil || code != 7 {
		t.Fatalf("Run = %d, %v; want 7", code, err)
	}
}

// waitFor polls cond every 20ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

func TestRunWatchRestartsOnRotation(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := agent.Run(ctx, s.Client, agent.RunOptions{
			Env: []string{"PATH=" + os.Getenv("PATH"), "PW=tresor://secret/app#password", "DIR=" + dir},
			// Each start appends the value it saw, then waits to be stopped.
			Command:  []string{"sh", "-c", `echo "$PW" >> "$DIR/seen"; exec sleep 60`},
			Watch:    true,
			Interval: 100 * time.Millisecond,
			Grace:    2 * time.Second,
			Logger:   newLogger(&logs),
		})
		done <- err
	}()
	seen := func() string { b, _ := os.ReadFile(filepath.Join(dir, "seen")); return string(b) }
	waitFor(t, 5*time.Second, "the first start", func() bool { return seen() == "s3cret-v2\n" })
	kvPut(t, s.Client, "app", map[string]any{"password": "s3cret-v3", "user": "ann"})
	waitFor(t, 5*time.Second, "a restart with the new value", func() bool { return seen() == "s3cret-v2\ns3cret-v3\n" })
	if !strings.Contains(logs.String(), "PW (tresor://secret/app#password)") {
		t.Errorf("log does not name the rotated reference:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("log carries a secret:\n%s", logs.String())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestWatcherRenewsLeases: a leased secret (2s TTL, 5s max) is renewed
// through sys/leases/renew and, when the max TTL nears, fetched anew.
func TestWatcherRenewsLeases(t *testing.T) {
	s, eng := testServer(t, 2*time.Second, "5s")
	w := agent.NewWatcher(s.Client, agent.WatcherOptions{Interval: time.Hour, Retries: -1})
	dep := agent.Dependency{Path: "db/creds/app"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Watch(ctx, []agent.Dependency{dep})
	waitFor(t, 10*time.Second, "a renewal and a fresh credential", func() bool {
		return eng.renews.Load() >= 1 && eng.reads.Load() >= 2
	})
	first, _ := w.Get(dep)
	if first == nil || first.LeaseID == "" {
		t.Fatalf("cached secret %+v", first)
	}
	select {
	case <-w.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
	}
}

// TestRunWatchReplacesLeasedCredentials: dynamic credentials (1s leases,
// 3s max TTL) are renewed, then replaced before the max TTL, and the
// command restarted with the new ones.
func TestRunWatchReplacesLeasedCredentials(t *testing.T) {
	// A 3s lease leaves a second of slack between the renewal (at two
	// thirds) and the expiry, so a busy machine does not let the lease
	// lapse before the watcher renews it.
	s, eng := testServer(t, 3*time.Second, "9s")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = agent.Run(ctx, s.Client, agent.RunOptions{
			Env:      []string{"PATH=" + os.Getenv("PATH"), "DB_USER=dso://db/creds/app#username", "DIR=" + dir},
			Command:  []string{"sh", "-c", `echo "$DB_USER" >> "$DIR/seen"; exec sleep 60`},
			Watch:    true,
			Interval: time.Hour,
			Grace:    2 * time.Second,
		})
	}()
	seen := func() string { b, _ := os.ReadFile(filepath.Join(dir, "seen")); return string(b) }
	waitFor(t, 40*time.Second, "a restart with new credentials", func() bool {
		return strings.HasPrefix(seen(), "v-creds-app-1\nv-creds-app-2\n")
	})
	if eng.renews.Load() == 0 {
		t.Error("the lease was never renewed before being replaced")
	}
	cancel()
	<-done
}
