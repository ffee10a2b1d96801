package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// tresorBin is the tresor binary built once for the process tests.
var tresorBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tresor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tresorBin = filepath.Join(dir, "tresor")
	build := exec.Command("go", "build", "-o", tresorBin, "github.com/tresorhq/tresor/cmd/tresor")
	// Static, as the README builds it: these tests run the binary users run.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tresor:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a tresor server process with a bolt data directory.
type proc struct {
	t       *testing.T
	dataDir string
	conf    string
	addr    string
	cmd     *exec.Cmd
	logs    *lockedBuffer
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newProc(t *testing.T, extraConfig ...string) *proc {
	dir := t.TempDir()
	p := &proc{t: t, dataDir: filepath.Join(dir, "data"), conf: filepath.Join(dir, "config.hcl"), addr: freePort(t)}
	conf := fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = 1
}
disable_mlock = true
log_level     = "debug"
api_addr      = "http://%s"
`, p.dataDir, p.addr, p.addr) + strings.Join(extraConfig, "\n")
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs the server and waits until sys/health answers.
func (p *proc) start() {
	p.t.Helper()
	if p.logs == nil {
		p.logs = new(lockedBuffer) // kept across restarts; read while the server writes
	}
	p.cmd = exec.Command(tresorBin, "server", "-config="+p.conf)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("server did not answer within 10s; output:\n%s", p.logs)
}

func (p *proc) stop(sig syscall.Signal) {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
}

func (p *proc) client(token string) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = "http://" + p.addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// initOne initialises a fresh server with a single key share, unseals it
// and gives c the root token.
func initOne(t *testing.T, c *api.Client) *api.InitResponse {
	t.Helper()
	init, err := c.Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.Keys[0])
	c.SetToken(init.RootToken)
	return init
}

func unseal(t *testing.T, c *api.Client, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := c.Sys().Unseal(k); err != nil {
			t.Fatalf("unseal: %v", err)
		}
	}
	st, err := c.Sys().SealStatus()
	if err != nil || st.Sealed {
		t.Fatalf("still sealed after %d keys: %+v %v", len(keys), st, err)
	}
}

func healthCode(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/sys/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRestartKeepsEverything: init 5/3, unseal with 3, seal, restart the
// process, unseal with 3 other shares: tokens, keys and seal config intact.
func TestRestartKeepsEverything(t *testing.T) {
	p := newProc(t)
	p.start()
	c := p.client("")
	if code := healthCode(t, p.addr); code != http.StatusNotImplemented {
		t.Fatalf("health before init = %d, want 501", code)
	}
	init, err := c.Sys().Init(&api.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.Keys[0], init.Keys[1], init.Keys[2])
	if code := healthCode(t, p.addr); code != http.StatusOK {
		t.Fatalf("health unsealed = %d, want 200", code)
	}
	c.SetToken(init.RootToken)
	const canary = "canary-value-5f3a9c0e"
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": canary}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	before, err := c.Sys().KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if code := healthCode(t, p.addr); code != http.StatusServiceUnavailable {
		t.Fatalf("health sealed = %d, want 503", code)
	}
	p.stop(syscall.SIGTERM)

	p.start()
	c = p.client(init.RootToken)
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Initialized || st.N != 5 || st.T != 3 {
		t.Fatalf("after restart: %+v, %v", st, err)
	}
	unseal(t, c, init.KeysB64[4], init.KeysB64[2], init.KeysB64[3])
	after, err := c.Sys().KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.Term != before.Term || !after.InstallTime.Equal(before.InstallTime) {
		t.Fatalf("key status changed across restart: %+v -> %+v", before, after)
	}
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("root token lost across restart: %v", err)
	}
	got, err := c.KVv2("secret").Get(context.Background(), "app")
	if err != nil || got.Data["password"] != canary {
		t.Fatalf("secret lost across restart: %+v %v", got, err)
	}
	// A denied request is logged (at debug level) without its token.
	child, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.client(child.Auth.ClientToken).KVv2("secret").Get(context.Background(), "app"); err == nil {
		t.Fatal("the default policy read a secret")
	}
	p.stop(syscall.SIGTERM)
	// Neither the data file nor the server's log holds a secret in clear.
	secrets := append([]string{canary, init.RootToken, child.Auth.ClientToken, child.Auth.Accessor}, init.Keys...)
	assertNoPlaintext(t, p.dataDir, secrets...)
	for _, s := range secrets {
		if strings.Contains(p.logs.String(), s) {
			t.Errorf("server log contains a secret: %.12s...", s)
		}
	}
}

// TestSIGKILLAfterRotate: kill -9 right after init, unseal and rotate; the
// root token and the rotated keyring survive.
func TestSIGKILLAfterRotate(t *testing.T) {
	p := newProc(t)
	p.start()
	c := p.client("")
	init := initOne(t, c)
	if err := c.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	p.stop(syscall.SIGKILL)

	p.start()
	c = p.client(init.RootToken)
	unseal(t, c, init.Keys[0])
	ks, err := c.Sys().KeyStatusWithContext(context.Background())
	if err != nil || ks.Term != 2 {
		t.Fatalf("key status after SIGKILL: %+v, %v; want term 2", ks, err)
	}
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("root token lost after SIGKILL: %v", err)
	}
}

// assertNoPlaintext greps every file under dir for each secret.
func assertNoPlaintext(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains a secret in clear", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeclaredAuditDevice: an audit stanza in the configuration records
// every request from the first unseal on, is listed, and cannot be
// disabled through the API.
func TestDeclaredAuditDevice(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "declared.log")
	p := newProc(t, fmt.Sprintf(`
audit "file" "declared" {
  description = "from the config"
  options {
    file_path = %q
  }
}
`, logPath))
	p.start()
	c := p.client("")
	init := initOne(t, c)
	devs, err := c.Sys().ListAudit()
	if err != nil || devs["declared/"] == nil || devs["declared/"].Description != "from the config" {
		t.Fatalf("audit list: %+v %v", devs, err)
	}
	if err := c.Sys().DisableAudit("declared"); err == nil {
		t.Fatal("a declared audit device was disabled through the API")
	}
	raw, err := os.ReadFile(logPath)
	if err != nil || !strings.Contains(string(raw), `"path":"sys/audit"`) {
		t.Fatalf("declared device recorded nothing: %v", err)
	}
	if strings.Contains(string(raw), init.RootToken) {
		t.Fatal("root token in clear in the audit log")
	}
}
