package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// allButSudo is every capability a policy can grant short of sudo (deny
// is not a grant).
const allButSudo = `"create", "read", "update", "patch", "delete", "list"`

// rawCall sends one request with token and returns the status and body.
func rawCall(t *testing.T, s *servertest.Server, token, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Addr+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(out)
}

// TestSudoPaths checks every root-protected path: a token whose policy
// grants all capabilities but sudo on the path is refused, and a token
// whose policy is the same plus sudo is let through. Vault's system
// backend protects auth/*, remount, rotate, audit, audit/*, the lease
// lookup and revoke-prefix/force paths; Tresor adds sys/pprof/*,
// sys/kv/move and sys/key-status. Vault's token store protects
// revoke-orphan and accessors, and token creation checks sudo itself
// before making an orphan (no_parent), a periodic token or a custom ID.
// Mounting a secrets engine (sys/mounts/*) and auth/token/create-orphan
// are not root-protected in Vault: the ACL alone governs them, and the
// last cases pin that a token without sudo may use them.
func TestSudoPaths(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	auditLog := filepath.Join(t.TempDir(), "audit.log")

	tests := []struct {
		name   string
		policy []string // paths the policies cover
		// setup, when set, runs with the root token before the calls; a
		// body it returns replaces body.
		setup  func(t *testing.T) map[string]any
		method string
		path   string
		body   map[string]any
		// denied is the status without sudo: 403 for root-protected
		// paths, 400 when the token store refuses a sudo-only option, 0
		// when sudo is not needed at all.
		denied int
	}{
		{name: "pprof profile", policy: []string{"sys/pprof/*"},
			method: "GET", path: "sys/pprof/goroutine", denied: 403},
		{name: "kv move", policy: []string{"sys/kv/move", "secret/*"},
			setup: func(t *testing.T) map[string]any {
				if _, err := root.KVv2("secret").Put(context.Background(), "from", map[string]any{"pw": "x"}); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			method: "POST", path: "sys/kv/move", body: map[string]any{"from": "secret/from", "to": "secret/to"}, denied: 403},
		{name: "list audit devices", policy: []string{"sys/audit"},
			method: "GET", path: "sys/audit", denied: 403},
		{name: "enable audit device", policy: []string{"sys/audit/*"},
			method: "PUT", path: "sys/audit/file", body: map[string]any{"type": "file", "options": map[string]any{"file_path": auditLog}}, denied: 403},
		{name: "disable audit device", policy: []string{"sys/audit/*"},
			method: "DELETE", path: "sys/audit/file", denied: 403},
		{name: "enable auth method", policy: []string{"sys/auth/*"},
			method: "POST", path: "sys/auth/userpass", body: map[string]any{"type": "userpass"}, denied: 403},
		{name: "tune auth method", policy: []string{"sys/auth/*"},
			method: "POST", path: "sys/auth/userpass/tune", body: map[string]any{"max_lease_ttl": "2h"}, denied: 403},
		{name: "disable auth method", policy: []string{"sys/auth/*"},
			method: "DELETE", path: "sys/auth/userpass", denied: 403},
		{name: "remount", policy: []string{"sys/remount", "sys/mounts/*"},
			setup: func(t *testing.T) map[string]any {
				if err := root.Sys().Mount("old", &api.MountInput{Type: "kv"}); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			method: "POST", path: "sys/remount", body: map[string]any{"from": "old", "to": "new"}, denied: 403},
		{name: "rotate the encryption key", policy: []string{"sys/rotate"},
			method: "POST", path: "sys/rotate", denied: 403},
		{name: "key status", policy: []string{"sys/key-status"},
			method: "GET", path: "sys/key-status", denied: 403},
		{name: "revoke a lease prefix", policy: []string{"sys/leases/revoke-prefix/*"},
			method: "POST", path: "sys/leases/revoke-prefix/secret", denied: 403},
		{name: "force-revoke a lease prefix", policy: []string{"sys/leases/revoke-force/*"},
			method: "POST", path: "sys/leases/revoke-force/secret", denied: 403},
		{name: "revoke a token and orphan its children", policy: []string{"auth/token/revoke-orphan"},
			setup: func(t *testing.T) map[string]any {
				sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
				if err != nil {
					t.Fatal(err)
				}
				return map[string]any{"token": sec.Auth.ClientToken}
			},
			method: "POST", path: "auth/token/revoke-orphan", denied: 403},
		{name: "list token accessors", policy: []string{"auth/token/accessors"},
			method: "LIST", path: "auth/token/accessors", denied: 403},
		{name: "create an orphan with no_parent", policy: []string{"auth/token/create"},
			method: "POST", path: "auth/token/create", body: map[string]any{"no_parent": true, "policies": []string{"default"}}, denied: 400},
		{name: "create-orphan a periodic token", policy: []string{"auth/token/create-orphan"},
			method: "POST", path: "auth/token/create-orphan", body: map[string]any{"period": "1h", "policies": []string{"default"}}, denied: 400},
		{name: "create a token with a chosen ID", policy: []string{"auth/token/create"},
			method: "POST", path: "auth/token/create", body: map[string]any{"id": "chosen-token-id", "policies": []string{"default"}}, denied: 400},

		// Not root-protected in Vault: the ACL alone decides.
		{name: "mount a secrets engine", policy: []string{"sys/mounts/*"},
			method: "POST", path: "sys/mounts/kv-nosudo", body: map[string]any{"type": "kv"}},
		{name: "create-orphan", policy: []string{"auth/token/create-orphan"},
			method: "POST", path: "auth/token/create-orphan", body: map[string]any{"policies": []string{"default"}}},
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := map[bool]string{}
			for _, sudo := range []bool{false, true} {
				caps := allButSudo
				if sudo {
					caps += `, "sudo"`
				}
				var rules strings.Builder
				for _, p := range tt.policy {
					rules.WriteString("path \"" + p + "\" { capabilities = [" + caps + "] }\n")
				}
				name := "case" + string(rune('a'+i))
				if sudo {
					name += "-sudo"
				}
				if err := root.Sys().PutPolicy(name, rules.String()); err != nil {
					t.Fatal(err)
				}
				sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{name}})
				if err != nil {
					t.Fatal(err)
				}
				tokens[sudo] = sec.Auth.ClientToken
			}
			body := tt.body
			if tt.setup != nil {
				if b := tt.setup(t); b != nil {
					body = b
				}
			}

			code, out := rawCall(t, s, tokens[false], tt.method, tt.path, body)
			switch {
			case tt.denied == 0 && (code < 200 || code > 299):
				t.Fatalf("without sudo: %d %s, want success (the path is not root-protected)", code, out)
			case tt.denied == 403 && (code != 403 || !strings.Contains(out, "permission denied")):
				t.Fatalf("without sudo: %d %s, want 403 permission denied", code, out)
			case tt.denied == 400 && (code != 400 || !strings.Contains(out, "root or sudo privileges required")):
				t.Fatalf("without sudo: %d %s, want 400 root or sudo privileges required", code, out)
			}
			if victim, ok := body["token"].(string); ok {
				// The refused revoke-orphan must have revoked nothing.
				if _, err := root.Auth().Token().Lookup(victim); err != nil {
					t.Fatalf("the token survives a refused revoke-orphan: %v", err)
				}
			}
			if tt.denied == 0 {
				return
			}
			code, out = rawCall(t, s, tokens[true], tt.method, tt.path, body)
			if code < 200 || code > 299 {
				t.Fatalf("with sudo: %d %s, want success", code, out)
			}
		})
	}
}
