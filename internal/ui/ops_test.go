package ui_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestOperations drives the operations pages: mounts, audit, leases,
// metrics and seal, and the access pages an operator reads.
func TestOperations(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	b := newBrowser(t, s.Addr)
	b.signInToken(s.RootToken)

	code, body := b.post("/ui/ops/mounts", url.Values{"action": {"enable"}, "kind": {"secret"}, "type": {"kv-v1"}, "path": {"legacy"}, "description": {"old style"}})
	b.want(code, body, http.StatusOK, "Done: enable legacy", "legacy/", "kv v1", "old style")
	code, body = b.post("/ui/ops/mounts", url.Values{"action": {"tune"}, "kind": {"secret"}, "path": {"legacy"}, "default_ttl": {"1h"}})
	b.want(code, body, http.StatusOK, "Done: tune legacy", "3600s")
	code, body = b.post("/ui/ops/mounts", url.Values{"action": {"enable"}, "kind": {"auth"}, "type": {"approle"}, "path": {"approle"}})
	b.want(code, body, http.StatusOK, "auth/approle/")
	code, body = b.post("/ui/ops/mounts", url.Values{"action": {"disable"}, "kind": {"secret"}, "path": {"legacy"}})
	b.want(code, body, http.StatusOK, "Done: disable legacy")
	code, body = b.post("/ui/ops/mounts", url.Values{"action": {"enable"}, "kind": {"secret"}, "type": {"nope"}, "path": {"x"}})
	if code < 400 {
		t.Errorf("enabling an unknown type: %d", code)
	}

	logFile := filepath.Join(t.TempDir(), "audit.log")
	code, body = b.post("/ui/ops/audit", url.Values{"action": {"enable"}, "type": {"file"}, "path": {"file"}, "file_path": {logFile}})
	b.want(code, body, http.StatusOK, "Done: enable file", "file_path="+logFile)
	code, body = b.post("/ui/ops/audit", url.Values{"action": {"disable"}, "path": {"file"}})
	b.want(code, body, http.StatusOK, "No audit device is enabled")

	code, body = b.post("/ui/ops/leases", url.Values{"action": {"lookup"}, "lease_id": {"secret/creds/none/abc"}})
	if code != http.StatusBadRequest {
		t.Errorf("unknown lease lookup: %d\n%s", code, body)
	}

	code, body = b.get("/ui/ops/metrics")
	b.want(code, body, http.StatusOK, "unsealed", "Requests handled", "vault_core_unsealed")

	// Auth methods with their members, and AppRole sign-in.
	if _, err := s.Client.Logical().Write("auth/approle/role/ci", map[string]any{"token_policies": "default"}); err != nil {
		t.Fatal(err)
	}
	code, body = b.get("/ui/authmethods")
	b.want(code, body, http.StatusOK, "approle", "roles: ci")
	role, err := s.Client.Logical().Read("auth/approle/role/ci/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := s.Client.Logical().Write("auth/approle/role/ci/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	ci := newBrowser(t, s.Addr)
	ci.get("/ui/login?method=approle")
	code, body = ci.post("/ui/login", url.Values{"method": {"approle"}, "role_id": {role.Data["role_id"].(string)}, "secret_id": {sid.Data["secret_id"].(string)}})
	ci.want(code, body, http.StatusOK, "Signed in as approle")
	code, body = ci.get("/ui/token")
	ci.want(code, body, http.StatusOK, "Your token", "default")
	// Her token may not list mounts: not permitted, not a broken page.
	code, body = ci.get("/ui/ops/mounts")
	ci.want(code, body, http.StatusForbidden, "Not permitted")
	code, body = ci.post("/ui/login", url.Values{"method": {"userpass"}, "username": {"../sys"}, "password": {"x"}})
	ci.want(code, body, http.StatusBadRequest, "not valid")

	// Seal needs the word, then seals.
	code, body = b.post("/ui/ops/seal", url.Values{"confirm": {"yes"}})
	b.want(code, body, http.StatusBadRequest, `Type "seal" to confirm`)
	code, body = b.post("/ui/ops/seal", url.Values{"confirm": {"seal"}})
	b.want(code, body, http.StatusOK, "Tresor is sealed.", "Unseal Tresor")
	if st, err := s.Client.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("seal status %+v %v", st, err)
	}
	// Pages of a signed-in session now lead to the unseal page.
	code, body = b.get("/ui/secrets")
	b.want(code, body, http.StatusOK, "Unseal Tresor")
}
