package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"
)

// waitUnsealed polls seal-status until the server reports itself unsealed,
// without ever calling sys/unseal.
func waitUnsealed(t *testing.T, c *api.Client, logs fmt.Stringer) *api.SealStatusResponse {
	t.Helper()
	for range 1000 {
		if st, err := c.Sys().SealStatus(); err == nil && st.Initialized && !st.Sealed {
			return st
		}
		sleepBriefly()
	}
	t.Fatalf("server did not unseal itself; output:\n%s", logs)
	return nil
}

func writeKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStaticAutoUnsealAcrossSIGKILL: a server with seal "static" is
// initialised (recovery keys back, no unseal keys), killed with SIGKILL and
// comes back unsealed with its data, with no unseal call. Its wrapping key
// is then rotated (previous_key) and a quorum of recovery keys makes a new
// root token.
func TestStaticAutoUnsealAcrossSIGKILL(t *testing.T) {
	keys := t.TempDir()
	k1 := writeKeyFile(t, keys, "k1")
	t.Setenv("TRESOR_TEST_STATIC_K2", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))))
	p := newProc(t, fmt.Sprintf(`seal "static" {
  current_key_id = "k1"
  current_key    = "file://%s"
}`, k1))
	p.start()
	c := p.client("")
	st, err := c.Sys().SealStatus()
	if err != nil || st.Type != "static" || !st.RecoverySeal || st.Initialized {
		t.Fatalf("before init: %+v, %v", st, err)
	}
	init, err := c.Sys().Init(&api.InitRequest{RecoveryShares: 5, RecoveryThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(init.Keys) != 0 || len(init.RecoveryKeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init: %+v", init)
	}
	st = waitUnsealed(t, c, p.logs)
	if st.Type != "static" || !st.RecoverySeal || st.T != 3 || st.N != 5 {
		t.Fatalf("after init: %+v", st)
	}
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"pw": "kept"}); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		p.stop(syscall.SIGKILL)
		p.start()
		c = p.client(init.RootToken)
		waitUnsealed(t, c, p.logs)
		sec, err := c.KVv2("secret").Get(context.Background(), "app")
		if err != nil || sec.Data["pw"] != "kept" {
			t.Fatalf("restart %d: %v, %v", i, sec, err)
		}
	}

	// Rotate the wrapping key: k2 (from the environment) with k1 as the
	// previous key; the next start rewraps, after which k1 can go.
	rewrite := func(seal string) {
		t.Helper()
		raw, err := os.ReadFile(p.conf)
		if err != nil {
			t.Fatal(err)
		}
		conf := string(raw)
		if i := strings.Index(conf, `seal "static"`); i >= 0 {
			conf = conf[:i]
		}
		if err := os.WriteFile(p.conf, []byte(conf+seal), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(fmt.Sprintf(`seal "static" {
  current_key_id  = "k2"
  current_key     = "env://TRESOR_TEST_STATIC_K2"
  previous_key_id = "k1"
  previous_key    = "file://%s"
}`, k1))
	p.stop(syscall.SIGTERM)
	p.start()
	waitUnsealed(t, p.client(""), p.logs)
	rewrite(`seal "static" {
  current_key_id = "k2"
  current_key    = "env://TRESOR_TEST_STATIC_K2"
}`)
	p.stop(syscall.SIGKILL)
	p.start()
	c = p.client(init.RootToken)
	waitUnsealed(t, c, p.logs)

	// Generate a root token from recovery keys.
	gr, err := c.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatal(err)
	}
	var done *api.GenerateRootStatusResponse
	for _, k := range init.RecoveryKeysB64[1:4] {
		if done, err = c.Sys().GenerateRootUpdate(k, gr.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !done.Complete {
		t.Fatalf("generate-root: %+v", done)
	}
	raw, err := base64.RawStdEncoding.DecodeString(done.EncodedToken)
	if err != nil || len(raw) != len(gr.OTP) {
		t.Fatalf("encoded token %q: %v", done.EncodedToken, err)
	}
	for i := range raw {
		raw[i] ^= gr.OTP[i]
	}
	nc := p.client(string(raw))
	if sec, err := nc.KVv2("secret").Get(context.Background(), "app"); err != nil || sec.Data["pw"] != "kept" {
		t.Fatalf("new root token: %v, %v", sec, err)
	}
	// The recovery keys are rekeyed at their own path.
	if _, err := c.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2}); err == nil {
		t.Fatal("sys/rekey accepted under auto-unseal")
	}
	rk, err := c.Sys().RekeyRecoveryKeyInit(&api.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	var upd *api.RekeyUpdateResponse
	for _, k := range init.RecoveryKeysB64[:3] {
		if upd, err = c.Sys().RekeyRecoveryKeyUpdate(k, rk.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !upd.Complete || len(upd.KeysB64) != 3 {
		t.Fatalf("recovery rekey: %+v", upd)
	}
	if st, _ := c.Sys().SealStatus(); st.T != 2 || st.N != 3 {
		t.Fatalf("seal status after recovery rekey: %+v", st)
	}
	// Sealed by hand, the server takes the new recovery keys to unseal.
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unseal(t, c, upd.KeysB64[0], upd.KeysB64[2])
}

// devProc is a persistent dev server process (-dev -dev-data-dir), here
// the transit server another one's seal uses.
type devProc struct {
	t                *testing.T
	home, data, addr string
	cmd              *exec.Cmd
	out              *lockedBuffer
}

func (d *devProc) start() *api.Client {
	d.t.Helper()
	d.cmd = exec.Command(tresorBin, "server", "-dev", "-dev-data-dir="+d.data, "-dev-listen-address="+d.addr, "-dev-root-token-id=transit-root")
	d.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=")
	})
	d.cmd.Env = append(d.cmd.Env, "HOME="+d.home)
	d.out = new(lockedBuffer)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	cmd := d.cmd
	d.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	c := waitDevReady(d.t, d.addr, d.out)
	c.SetToken("transit-root")
	return c
}

func (d *devProc) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}

// TestTransitAutoUnseal: a server whose root key another Tresor's transit
// engine wraps unseals itself at start, also when that transit server
// comes up only after it (it waits, says so, and retries).
func TestTransitAutoUnseal(t *testing.T) {
	tr := &devProc{t: t, home: t.TempDir(), data: filepath.Join(t.TempDir(), "transit"), addr: freePort(t)}
	tc := tr.start()
	if err := tc.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Logical().Write("transit/keys/autounseal", nil); err != nil {
		t.Fatal(err)
	}

	p := newProc(t, fmt.Sprintf(`seal "transit" {
  address         = "http://%s"
  token           = "transit-root"
  key_name        = "autounseal"
  mount_path      = "transit/"
  disable_renewal = "true"
}`, tr.addr))
	p.start()
	c := p.client("")
	init, err := c.Sys().Init(&api.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := waitUnsealed(t, c, p.logs)
	if st.Type != "transit" || !st.RecoverySeal {
		t.Fatalf("seal status: %+v", st)
	}
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"pw": "via-transit"}); err != nil {
		t.Fatal(err)
	}

	// Both down; this one comes back first and waits for the transit one.
	p.stop(syscall.SIGKILL)
	tr.stop()
	p.start()
	for range 500 {
		if strings.Contains(p.logs.String(), "cannot unseal automatically yet") {
			break
		}
		sleepBriefly()
	}
	if !strings.Contains(p.logs.String(), "cannot unseal automatically yet") {
		t.Fatalf("no log line while the transit server is down:\n%s", p.logs)
	}
	if st, err := p.client("").Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("unsealed without its transit server: %+v, %v", st, err)
	}
	tr.start()
	c = p.client(init.RootToken)
	waitUnsealed(t, c, p.logs)
	sec, err := c.KVv2("secret").Get(context.Background(), "app")
	if err != nil || sec.Data["pw"] != "via-transit" {
		t.Fatalf("after restart: %v, %v", sec, err)
	}
}

// setSeal replaces the seal stanzas of p's configuration with seal.
func (p *proc) setSeal(seal string) {
	p.t.Helper()
	raw, err := os.ReadFile(p.conf)
	if err != nil {
		p.t.Fatal(err)
	}
	conf := string(raw)
	if i := strings.Index(conf, "\nseal "); i >= 0 {
		conf = conf[:i]
	}
	if err := os.WriteFile(p.conf, []byte(conf+"\n"+seal), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// TestSealMigrationShamirStaticShamir: Shamir → static (unseal keys
// become recovery keys) → Shamir again (and back), each step with
// operator unseal -migrate, the data intact throughout.
func TestSealMigrationShamirStaticShamir(t *testing.T) {
	k1 := writeKeyFile(t, t.TempDir(), "k1")
	static := fmt.Sprintf(`seal "static" {
  current_key_id = "k1"
  current_key    = "file://%s"
`, k1)
	p := newProc(t)
	p.start()
	c := p.client("")
	init, err := c.Sys().Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.KeysB64[0], init.KeysB64[1])
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"pw": "migrated"}); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		sec, err := p.client(init.RootToken).KVv2("secret").Get(context.Background(), "app")
		if err != nil || sec.Data["pw"] != "migrated" {
			t.Fatalf("%s: %v, %v", step, sec, err)
		}
	}
	cliUnseal := func(key string, args ...string) string {
		t.Helper()
		cmd := exec.Command(tresorBin, append(append([]string{"operator", "unseal"}, args...), key)...)
		cmd.Env = append(os.Environ(), "VAULT_ADDR=http://"+p.addr)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("operator unseal %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	// Shamir → static.
	p.stop(syscall.SIGTERM)
	p.setSeal(static + "}\n")
	p.start()
	c = p.client("")
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration || st.Type != "shamir" {
		t.Fatalf("pending migration: %+v, %v", st, err)
	}
	if _, err := c.Sys().Unseal(init.KeysB64[0]); err == nil || !strings.Contains(err.Error(), "migrat") {
		t.Fatalf("plain unseal during a migration: %v", err)
	}
	cliUnseal(init.KeysB64[2], "-migrate")
	if _, err := c.Sys().UnsealWithOptions(&api.UnsealOpts{Key: init.KeysB64[0], Migrate: true}); err != nil {
		t.Fatal(err)
	}
	st = waitUnsealed(t, c, p.logs)
	if st.Type != "static" || !st.RecoverySeal || st.Migration || st.T != 2 || st.N != 3 {
		t.Fatalf("after migrating to static: %+v", st)
	}
	check("after migrating to static")
	p.stop(syscall.SIGKILL)
	p.start()
	waitUnsealed(t, p.client(""), p.logs)
	check("static, restarted")

	// Static → Shamir: the static stanza stays, disabled.
	p.stop(syscall.SIGTERM)
	p.setSeal(static + "  disabled = \"true\"\n}\n")
	p.start()
	c = p.client("")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("pending migration back: %+v, %v", st, err)
	}
	if _, err := c.Sys().UnsealWithOptions(&api.UnsealOpts{Key: init.KeysB64[1], Migrate: true}); err != nil {
		t.Fatal(err)
	}
	out := cliUnseal(init.KeysB64[2], "-migrate")
	if !strings.Contains(out, "Sealed") {
		t.Errorf("operator unseal -migrate output:\n%s", out)
	}
	st = waitUnsealed(t, c, p.logs)
	if st.Type != "shamir" || st.RecoverySeal || st.Migration {
		t.Fatalf("after migrating back: %+v", st)
	}
	check("after migrating back to Shamir")

	// The seal stanza gone, it is a Shamir server as before.
	p.stop(syscall.SIGTERM)
	p.setSeal("")
	p.start()
	c = p.client("")
	if st, _ := c.Sys().SealStatus(); !st.Sealed {
		t.Fatal("a Shamir server unsealed itself")
	}
	unseal(t, c, init.KeysB64[2], init.KeysB64[0])
	check("Shamir again, restarted")
}
