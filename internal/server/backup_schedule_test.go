package server_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// TestScheduledBackups runs a server with backup "local": backups are
// taken, verified and pruned to retain; sys/backups lists them; a damaged
// file shows verified=false with the reason; the age metric is exported.
func TestScheduledBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	p := newProc(t, fmt.Sprintf(`
backup "local" {
  path     = %q
  interval = "1s"
  retain   = 2
}`, dir))
	p.start()
	c := p.client("")
	initOne(t, c)
	if _, err := c.Logical().Write("secret/app", map[string]any{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}

	// Wait until a third backup has been taken and the first pruned.
	var first string
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := c.Logical().List("sys/backups")
		if err != nil {
			t.Fatal(err)
		}
		var keys []any
		if s != nil {
			keys, _ = s.Data["keys"].([]any)
		}
		if len(keys) > 2 {
			// A new file may be written just before pruning; never more.
			entries, _ := os.ReadDir(dir)
			if len(keys) > 3 {
				t.Fatalf("%d backups listed (%d entries in the directory), retain is 2", len(keys), len(entries))
			}
		}
		if len(keys) > 0 && first == "" {
			first = keys[0].(string)
		}
		if len(keys) == 2 && first != "" && keys[0] != first && keys[1] != first {
			info := s.Data["key_info"].(map[string]any)
			for _, k := range keys {
				d := info[k.(string)].(map[string]any)
				if d["verified"] != true || d["error"] != "" || d["name"] != k {
					t.Errorf("backup %s: %v; want verified with no error", k, d)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups not taken and pruned: first %q, now %v", first, keys)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// GET lists them too, with every field.
	s, err := c.Logical().Read("sys/backups")
	if err != nil || s == nil {
		t.Fatalf("GET sys/backups = %v, %v", s, err)
	}
	list := s.Data["backups"].([]any)
	newest := list[len(list)-1].(map[string]any)
	for _, f := range []string{"name", "size", "created", "verified", "error"} {
		if _, ok := newest[f]; !ok {
			t.Errorf("backup entry lacks %q: %v", f, newest)
		}
	}
	name := newest["name"].(string)
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "s3cret") {
		t.Fatal("a scheduled backup holds a secret in clear")
	}

	// Damage it: the next look reports the failed verification.
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, name), later, later); err != nil {
		t.Fatal(err)
	}
	s, err = c.Logical().Read("sys/backups/" + name)
	if err != nil || s == nil {
		t.Fatalf("GET sys/backups/%s = %v, %v", name, s, err)
	}
	if s.Data["verified"] != false || s.Data["error"] == "" {
		t.Errorf("damaged backup = %v; want verified=false with an error", s.Data)
	}

	// The age of the last good backup is a metric.
	req := c.NewRequest("GET", "/v1/sys/metrics")
	req.Params.Set("format", "prometheus")
	//nolint:staticcheck // raw body
	resp, err := c.RawRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\nvault_backup_last_success_age_seconds ") {
		t.Errorf("metrics lack vault_backup_last_success_age_seconds:\n%s", body)
	}

	// sys/backups needs sudo.
	if err := c.Sys().PutPolicy("lister", `path "sys/backups*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"lister"}})
	if err != nil {
		t.Fatal(err)
	}
	lc := p.client(tok.Auth.ClientToken)
	_, err = lc.Logical().List("sys/backups")
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Errorf("LIST sys/backups without sudo = %v, want 403", err)
	}
}
