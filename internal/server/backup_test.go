package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// TestBackupRestoreBolt takes a backup of one bolt server with the CLI and
// restores it onto a fresh one, which then unseals with the first server's
// keys.
func TestBackupRestoreBolt(t *testing.T) {
	testBackupRestore(t, newProc(t))
}

// TestBackupRestoreFromPostgres does the same from a PostgreSQL server onto
// a bolt one: the backup is of the store below the barrier, whatever the
// backend.
func TestBackupRestoreFromPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	p := newProc(t)
	conf := fmt.Sprintf(`
storage "postgresql" {
  connection_url = %q
}
listener "tcp" {
  address     = %q
  tls_disable = 1
}
`, pg.URL, p.addr)
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testBackupRestore(t, p)
}

// cliRun runs the tresor CLI against addr with token.
func cliRun(t *testing.T, addr, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tresorBin, args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR=http://"+addr, "VAULT_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func testBackupRestore(t *testing.T, src *proc) {
	// The source cluster: 3 shares, threshold 2, some data.
	src.start()
	a := src.client("")
	initA, err := a.Sys().Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, a, initA.Keys[0], initA.Keys[1])
	a.SetToken(initA.RootToken)
	if _, err := a.Logical().Write("secret/app", map[string]any{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sys().PutPolicy("app", `path "secret/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a.backup")
	if out, err := cliRun(t, src.addr, initA.RootToken, "operator", "backup", file); err != nil {
		t.Fatalf("operator backup: %v\n%s", err, out)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode().Perm())
	}
	if bytes.Contains(good, []byte("s3cret")) {
		t.Fatal("the backup holds a secret in clear")
	}

	// Without a backup stanza there is nothing to list.
	_, err = a.Logical().List("sys/backups")
	var notConfigured *api.ResponseError
	if !errors.As(err, &notConfigured) || notConfigured.StatusCode != http.StatusBadRequest {
		t.Errorf("LIST sys/backups without a backup stanza = %v, want 400", err)
	}

	// A token without sudo may not take a backup.
	tok, err := a.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cliRun(t, src.addr, tok.Auth.ClientToken, "operator", "backup", filepath.Join(dir, "x")); err == nil || !strings.Contains(out, "403") {
		t.Errorf("backup without sudo: %v\n%s", err, out)
	}

	// A backup of this very cluster restores without -force: a rollback.
	if _, err := a.Logical().Write("secret/later", map[string]any{"v": "after the backup"}); err != nil {
		t.Fatal(err)
	}
	if out, err := cliRun(t, src.addr, initA.RootToken, "operator", "restore", file); err != nil {
		t.Fatalf("restore onto the same cluster: %v\n%s", err, out)
	}
	unseal(t, a, initA.Keys[0], initA.Keys[2])
	if s, err := a.Logical().Read("secret/later"); err != nil || s != nil {
		t.Errorf("secret/later after rolling back = %v, %v; want gone", s, err)
	}
	if s, err := a.Logical().Read("secret/app"); err != nil || s == nil {
		t.Errorf("secret/app after rolling back = %v, %v", s, err)
	}

	// The destination: a fresh server of its own, with data of its own.
	dst := newProc(t)
	dst.start()
	b := dst.client("")
	initB := initOne(t, b)
	if _, err := b.Logical().Write("secret/b-only", map[string]any{"v": "b"}); err != nil {
		t.Fatal(err)
	}

	// Damaged files and another cluster's backup without -force are
	// refused with a clear 400, and the server keeps its data.
	truncated := filepath.Join(dir, "truncated")
	tampered := filepath.Join(dir, "tampered")
	must(t, os.WriteFile(truncated, good[:len(good)-40], 0o600))
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0x01
	must(t, os.WriteFile(tampered, bad, 0o600))
	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"truncated", []string{"operator", "restore", "-force", truncated}, "truncated"},
		{"tampered", []string{"operator", "restore", "-force", tampered}, "checksum"},
		{"another cluster without -force", []string{"operator", "restore", file}, "force"},
	}
	for _, r := range refusals {
		out, err := cliRun(t, dst.addr, initB.RootToken, r.args...)
		if err == nil || !strings.Contains(out, "400") || !strings.Contains(out, r.want) {
			t.Errorf("%s: %v\n%s", r.name, err, out)
		}
		if s, err := b.Logical().Read("secret/b-only"); err != nil || s == nil {
			t.Fatalf("%s: the server lost its data: %v", r.name, err)
		}
	}
	// The raw API says the same to a client.
	req := b.NewRequest("POST", "/v1/sys/storage/restore-force")
	req.BodyBytes = good[:10]
	//nolint:staticcheck // raw body
	_, err = b.RawRequest(req)
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Errorf("raw restore of a truncated file: %v, want 400", err)
	}
	// Without sudo: 403.
	if out, err := cliRun(t, dst.addr, "not-a-token", "operator", "restore", "-force", file); err == nil || !strings.Contains(out, "403") {
		t.Errorf("restore with a bad token: %v\n%s", err, out)
	}

	// The real restore: the server seals and answers to A's keys.
	if out, err := cliRun(t, dst.addr, initB.RootToken, "operator", "restore", "-force", file); err != nil {
		t.Fatalf("operator restore: %v\n%s", err, out)
	}
	st, err := b.Sys().SealStatus()
	if err != nil || !st.Sealed || st.T != 2 || st.N != 3 {
		t.Fatalf("after restore: %+v, %v; want sealed with the backup's 2 of 3", st, err)
	}
	if _, err := b.Sys().Unseal(initB.Keys[0]); err == nil {
		if st, _ := b.Sys().SealStatus(); st != nil && !st.Sealed {
			t.Fatal("the restored server unsealed with its old key")
		}
	}
	_, _ = b.Sys().ResetUnsealProcess()
	unseal(t, b, initA.Keys[1], initA.Keys[2])
	checkRestored := func() {
		t.Helper()
		b.SetToken(initA.RootToken)
		s, err := b.Logical().Read("secret/app")
		if err != nil || s == nil || s.Data["password"] != "s3cret" {
			t.Fatalf("secret/app after restore = %v, %v", s, err)
		}
		if s, err := b.Logical().Read("secret/b-only"); err != nil || s != nil {
			t.Errorf("secret/b-only survived the restore: %v, %v", s, err)
		}
		if p, err := b.Sys().GetPolicy("app"); err != nil || !strings.Contains(p, "secret/*") {
			t.Errorf("policy app after restore = %q, %v", p, err)
		}
		b.SetToken(initB.RootToken)
		if _, err := b.Logical().Read("secret/app"); err == nil {
			t.Error("the old root token still works")
		}
	}
	checkRestored()
	// And it stays so across a restart.
	dst.stop(syscall.SIGTERM)
	dst.start()
	unseal(t, b, initA.Keys[0], initA.Keys[2])
	checkRestored()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
