package agent_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/agent"
	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/server"
)

// approleFiles sets up an AppRole "app" (reading secret/data/app) with
// the given token TTLs and writes its role and secret IDs to files.
func approleFiles(t *testing.T, c *api.Client, dir, ttl, maxTTL string) (roleFile, secretFile string) {
	t.Helper()
	if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("app", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/approle/role/app", map[string]any{
		"token_policies": "app", "token_ttl": ttl, "token_max_ttl": maxTTL,
	}); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Logical().Read("auth/approle/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.Logical().Write("auth/approle/role/app/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	roleFile, secretFile = filepath.Join(dir, "role-id"), filepath.Join(dir, "secret-id")
	if err := os.WriteFile(roleFile, []byte(rid.Data["role_id"].(string)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(sid.Data["secret_id"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	return roleFile, secretFile
}

// startAgent runs the configuration text until the test ends.
func startAgent(t *testing.T, text string, environ []string) *syncBuffer {
	t.Helper()
	cfg, err := agent.ParseConfig([]byte(text))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	logs := &syncBuffer{}
	a, err := agent.New(cfg, agent.Options{
		Stdout: logs, Stderr: logs, Logger: newLogger(logs), Environ: environ,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := a.Run(ctx); err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	return logs
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestAgentRendersAndRestartsOnRotation(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	dir := t.TempDir()
	roleFile, secretFile := approleFiles(t, s.Client, dir, "1h", "2h")
	sink := filepath.Join(dir, "token")
	out := filepath.Join(dir, "app.conf")
	seen := filepath.Join(dir, "seen")
	logs := startAgent(t, fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" { config { path = %q } }
}
cache { use_auto_auth_token = true }
template_config { static_secret_render_interval = "200ms" }
template {
  contents    = "{{ with secret \"secret/data/app\" }}password={{ .Data.data.password }}{{ end }}\n"
  destination = %q
  perms       = 0600
  command     = "echo rendered >> %s/commands"
}
env_template "PW" {
  contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
}
exec {
  command = ["sh", "-c", "echo \"$PW\" >> \"$SEEN\"; exec sleep 60"]
  restart_on_secret_changes = "always"
}
`, s.Addr, roleFile, secretFile, sink, out, dir), []string{"PATH=" + os.Getenv("PATH"), "SEEN=" + seen})

	waitFor(t, 10*time.Second, "the template and the child", func() bool {
		return readFile(out) == "password=s3cret-v2\n" && readFile(seen) == "s3cret-v2\n"
	})
	tok := readFile(sink)
	if fi, err := os.Stat(sink); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("sink: %v %v; want mode 0640", fi, err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("template mode %v; want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Errorf("secret ID file still there (remove_secret_id_file_after_reading defaults to true): %v", err)
	}
	c, _ := s.Client.Clone()
	c.SetToken(tok)
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("sink token does not work: %v", err)
	}

	kvPut(t, s.Client, "app", map[string]any{"password": "s3cret-v3", "user": "ann"})
	waitFor(t, 10*time.Second, "re-render and restart", func() bool {
		return readFile(out) == "password=s3cret-v3\n" && readFile(seen) == "s3cret-v2\ns3cret-v3\n"
	})
	if n := strings.Count(readFile(filepath.Join(dir, "commands")), "rendered"); n != 2 {
		t.Errorf("template command ran %d times; want 2", n)
	}
	if !strings.Contains(logs.String(), "cache: accepted and ignored") {
		t.Errorf("no warning for the cache stanza:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") || strings.Contains(logs.String(), tok) {
		t.Errorf("the log carries a secret or the token:\n%s", logs.String())
	}
}

// TestAgentRenewsToken: a token with a 5s TTL (max 1m) stays valid for
// 12s because the agent renews it, and the sink keeps the same token. (A
// 3s TTL left a loaded CI machine too little slack for a renewal.)
func TestAgentRenewsToken(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	dir := t.TempDir()
	roleFile, secretFile := approleFiles(t, s.Client, dir, "5s", "1m")
	sink := filepath.Join(dir, "token")
	startAgent(t, fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" { config = { path = %q, mode = 0600 } }
}
`, s.Addr, roleFile, secretFile, sink), nil)
	waitFor(t, 10*time.Second, "the token sink", func() bool { return readFile(sink) != "" })
	tok := readFile(sink)
	c, _ := s.Client.Clone()
	c.SetToken(tok)
	for i := 0; i < 12; i++ {
		time.Sleep(time.Second)
		if _, err := c.Auth().Token().LookupSelf(); err != nil {
			t.Fatalf("after %ds the token is no longer valid: %v", i+1, err)
		}
	}
	if readFile(sink) != tok {
		t.Error("the agent logged in again instead of renewing")
	}
	if fi, _ := os.Stat(sink); fi.Mode().Perm() != 0o600 {
		t.Errorf("sink mode %v; want 0600", fi.Mode().Perm())
	}
}

// TestAgentLogsInAgainAtMaxTTL: with a 2s TTL and a 4s max TTL the agent
// must log in again, and the sink always holds a working token.
func TestAgentLogsInAgainAtMaxTTL(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	dir := t.TempDir()
	roleFile, secretFile := approleFiles(t, s.Client, dir, "2s", "4s")
	sink := filepath.Join(dir, "token")
	startAgent(t, fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" { config = { role_id_file_path = %q, secret_id_file_path = %q } }
  sink "file" { config = { path = %q } }
}
`, s.Addr, roleFile, secretFile, sink), nil)
	waitFor(t, 10*time.Second, "the token sink", func() bool { return readFile(sink) != "" })
	first := readFile(sink)
	waitFor(t, 15*time.Second, "a new login", func() bool { return readFile(sink) != first })
	c, _ := s.Client.Clone()
	c.SetToken(readFile(sink))
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("new token does not work: %v", err)
	}
}

// persistentServer is an in-process server on a fixed port with bolt
// storage, so that it can be stopped and started again with its data.
type persistentServer struct {
	t    *testing.T
	cfg  *config.Config
	addr string
	srv  *server.Server
	done chan struct{}
	key  []byte
	root string
}

func newPersistentServer(t *testing.T) *persistentServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &persistentServer{t: t, addr: addr, cfg: &config.Config{
		Storage:         &config.Storage{Type: "file", Path: filepath.Join(t.TempDir(), "data")},
		Listeners:       []config.Listener{{Type: "tcp", Address: addr, TLSDisable: true, MaxRequestSize: config.DefaultMaxRequestSize}},
		DefaultLeaseTTL: config.DefaultLeaseTTL,
		MaxLeaseTTL:     config.DefaultMaxLeaseTTL,
	}}
	p.start()
	p.key, p.root, err = p.srv.InitDev(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *persistentServer) start() {
	p.t.Helper()
	srv, err := server.New(p.cfg, server.Options{})
	if err != nil {
		p.t.Fatal(err)
	}
	var lerr error
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if lerr = srv.Listen(); lerr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lerr != nil {
		p.t.Fatal(lerr)
	}
	p.srv, p.done = srv, make(chan struct{})
	go func() { defer close(p.done); _ = srv.Serve() }()
}

func (p *persistentServer) stop() {
	if p.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	<-p.done
	p.srv = nil
}

func (p *persistentServer) client() *api.Client {
	c, err := api.NewClient(&api.Config{Address: "http://" + p.addr, HttpClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		p.t.Fatal(err)
	}
	c.SetMaxRetries(0)
	c.SetToken(p.root)
	return c
}

func TestAgentSurvivesServerRestart(t *testing.T) {
	p := newPersistentServer(t)
	c := p.client()
	kvPut(t, c, "app", map[string]any{"password": "before"})
	dir := t.TempDir()
	roleFile, secretFile := approleFiles(t, c, dir, "1h", "2h")
	out := filepath.Join(dir, "app.txt")
	startAgent(t, fmt.Sprintf(`
vault { address = "http://%s" }
auto_auth {
  method "approle" { config = { role_id_file_path = %q, secret_id_file_path = %q } }
}
template_config { static_secret_render_interval = "200ms" }
template {
  contents    = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  destination = %q
}
`, p.addr, roleFile, secretFile, out), nil)
	waitFor(t, 10*time.Second, "the first render", func() bool { return readFile(out) == "before" })

	p.stop()
	time.Sleep(time.Second) // the agent's reads fail and back off meanwhile
	p.start()
	if _, err := c.Sys().Unseal(encodeKey(p.key)); err != nil {
		t.Fatalf("unseal: %v", err)
	}
	kvPut(t, c, "app", map[string]any{"password": "after"})
	waitFor(t, 15*time.Second, "a render after the restart", func() bool { return readFile(out) == "after" })
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// runAgent runs a configuration to its end and returns its status.
func runAgent(t *testing.T, text string) (code int, logs string, err error) {
	t.Helper()
	cfg, err := agent.ParseConfig([]byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	buf := &syncBuffer{}
	a, err := agent.New(cfg, agent.Options{
		Stdout: buf, Stderr: buf, Logger: newLogger(buf),
		Getenv:     func(k string) string { return map[string]string{"VAULT_TOKEN": "", "PATH": os.Getenv("PATH")}[k] },
		Environ:    []string{"PATH=" + os.Getenv("PATH")},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, err = a.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("agent still running after 20s; log:\n%s", buf.String())
	}
	return code, buf.String(), err
}

func TestAgentExitsWithChildStatus(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	tokFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokFile, []byte(s.RootToken), 0o600)
	code, logs, err := runAgent(t, fmt.Sprintf(`
vault { address = %q }
auto_auth { method "token_file" { config = { token_file_path = %q } } }
env_template "USER_NAME" { contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.user }}{{ end }}" }
exec { command = ["sh", "-c", "test \"$USER_NAME\" = ann && exit 3"] }
`, s.Addr, tokFile))
	if err != nil || code != 3 {
		t.Fatalf("agent = %d, %v; want the child's 3\n%s", code, err, logs)
	}
}

func TestAgentExitOnRetryFailure(t *testing.T) {
	s, _ := testServer(t, time.Hour, "")
	tokFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokFile, []byte(s.RootToken), 0o600)
	code, logs, err := runAgent(t, fmt.Sprintf(`
vault {
  address = %q
  retry { num_retries = 2 }
}
auto_auth { method "token_file" { config = { token_file_path = %q } } }
template_config { exit_on_retry_failure = true }
template {
  contents    = "{{ with secret \"secret/data/missing\" }}{{ .Data.data.x }}{{ end }}"
  destination = %q
}
`, s.Addr, tokFile, filepath.Join(t.TempDir(), "out")))
	if err == nil || code == 0 || !strings.Contains(err.Error(), "secret/data/missing") {
		t.Fatalf("agent = %d, %v; want a failure naming the path\n%s", code, err, logs)
	}
}
