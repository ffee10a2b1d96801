package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// send makes one raw request and decodes its JSON body (nil when empty).
func send(t *testing.T, addr, method, path, token, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, addr+"/v1/"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// emptyErrors reports whether body is Vault's {"errors":[]}.
func emptyErrors(body map[string]any) bool {
	errs, ok := body["errors"].([]any)
	return ok && len(errs) == 0 && len(body) == 1
}

// TestPatchNeedsMergePatch pins Vault's 415 for a PATCH that is not a JSON
// merge patch, and 400 for a malformed Content-Type.
func TestPatchNeedsMergePatch(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if _, err := s.Client.KVv2("secret").Put(context.Background(), "app", map[string]any{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"data":{"b":"2"}}`)
	code, out := send(t, s.Addr, "PATCH", "secret/data/app", s.RootToken, "application/json", body)
	errs, _ := out["errors"].([]any)
	if code != http.StatusUnsupportedMediaType || len(errs) != 1 ||
		errs[0] != "PATCH requires Content-Type of application/merge-patch+json, provided application/json" {
		t.Errorf("PATCH application/json = %d %v; want 415", code, out)
	}
	if code, out := send(t, s.Addr, "PATCH", "secret/data/app", s.RootToken, "", body); code != http.StatusBadRequest {
		t.Errorf("PATCH without Content-Type = %d %v; want 400", code, out)
	}
	if code, out := send(t, s.Addr, "PATCH", "secret/data/app", s.RootToken, "application/merge-patch+json; charset=utf-8", body); code != 200 {
		t.Errorf("merge patch = %d %v; want 200", code, out)
	}
	// The refused patch wrote no version.
	sec, err := s.Client.KVv2("secret").Get(context.Background(), "app")
	if err != nil || sec.VersionMetadata.Version != 2 || sec.Data["b"] != "2" {
		t.Errorf("after patches: %+v %v; want version 2 with b", sec, err)
	}
}

// TestReadOfNothingIs404 pins Vault's answer to reading something deleted
// (or never written): 404 with an empty error list, whichever backend.
func TestReadOfNothingIs404(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	for _, m := range []string{"userpass", "approle"} {
		if err := c.Sys().EnableAuthWithOptions(m, &api.EnableAuthOptions{Type: m}); err != nil {
			t.Fatal(err)
		}
	}
	writes := map[string]map[string]any{
		"auth/token/roles/r":      {"allowed_policies": "default"},
		"auth/userpass/users/bob": {"password": "pw-123456"},
		"auth/approle/role/r":     {"token_policies": "default"},
	}
	for path, data := range writes {
		if _, err := c.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		if _, err := c.Logical().Delete(path); err != nil {
			t.Fatalf("delete %s: %v", path, err)
		}
		code, body := send(t, s.Addr, "GET", path, s.RootToken, "", nil)
		if code != http.StatusNotFound || !emptyErrors(body) {
			t.Errorf("read deleted %s = %d %v; want 404 {\"errors\":[]}", path, code, body)
		}
	}
	// A list with nothing in it is a 404 as well.
	if code, body := send(t, s.Addr, "LIST", "auth/token/roles", s.RootToken, "", nil); code != http.StatusNotFound || !emptyErrors(body) {
		t.Errorf("empty role list = %d %v; want 404", code, body)
	}
	// And the official client reads it as "no secret".
	if sec, err := c.Logical().Read("auth/token/roles/r"); err != nil || sec != nil {
		t.Errorf("client read = %v, %v; want nil, nil", sec, err)
	}
}

// TestSealedHealthIsStandby pins sys/health's standby flag: true until the
// server is unsealed, as in Vault.
func TestSealedHealthIsStandby(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	h, err := s.Client.Sys().Health()
	if err != nil || h.Standby || h.Sealed {
		t.Fatalf("unsealed health = %+v, %v", h, err)
	}
	if err := s.Client.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	h, err = s.Client.Sys().Health()
	if err != nil || !h.Standby || !h.Sealed {
		t.Fatalf("sealed health = %+v, %v; want standby and sealed", h, err)
	}
	code, body := send(t, s.Addr, "GET", "sys/health", "", "", nil)
	if code != http.StatusServiceUnavailable || body["standby"] != true {
		t.Errorf("raw sealed health = %d %v", code, body)
	}
}

// TestLoginShape pins the auth block of a login: mfa_requirement is
// present and null, and the token's display name is Vault's.
func TestLoginShape(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/userpass/users/alice", map[string]any{"password": "pw-123456"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{"password": "pw-123456"})
	code, body := send(t, s.Addr, "POST", "auth/userpass/login/alice", "", "application/json", raw)
	auth, _ := body["auth"].(map[string]any)
	if code != 200 || auth == nil {
		t.Fatalf("login = %d %v", code, body)
	}
	if v, ok := auth["mfa_requirement"]; !ok || v != nil {
		t.Errorf("auth.mfa_requirement = %v (present %v); want null", v, ok)
	}
	look, err := c.Auth().Token().Lookup(auth["client_token"].(string))
	if err != nil || look.Data["display_name"] != "userpass-alice" {
		t.Errorf("display_name = %v, %v; want userpass-alice", look.Data["display_name"], err)
	}
}
