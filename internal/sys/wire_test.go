package sys_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// call sends one raw HTTP request and decodes the JSON answer (nil for an
// empty body), so a test sees exactly what a client gets.
func call(t *testing.T, s *servertest.Server, method, path, token string, body any, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.Addr+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tokenWith creates a token holding one policy with the given rules.
func tokenWith(t *testing.T, s *servertest.Server, name, rules string) string {
	t.Helper()
	if err := s.Client.Sys().PutPolicy(name, rules); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{name}, NoDefaultPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	return sec.Auth.ClientToken
}

// TestUIMountsFilteredByCaller pins the three listing cases of Vault's
// sys/internal/ui/mounts and the preflight check of .../mounts/<path>.
func TestUIMountsFilteredByCaller(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	for _, p := range []string{"team-a", "team-b"} {
		if err := c.Sys().Mount(p, &api.MountInput{Type: "kv-v2", Description: p + " secrets"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	// team-b and userpass are shown to anyone.
	for _, p := range []string{"sys/mounts/team-b/tune", "sys/auth/userpass/tune"} {
		if code, body, _ := call(t, s, "POST", p, s.RootToken, map[string]any{"listing_visibility": "unauth"}); code != http.StatusNoContent {
			t.Fatalf("tune %s: %d %v", p, code, body)
		}
	}
	if code, body, _ := call(t, s, "GET", "sys/mounts/team-b/tune", s.RootToken, nil); code != 200 || body["data"].(map[string]any)["listing_visibility"] != "unauth" {
		t.Fatalf("tune read shows no listing_visibility: %d %v", code, body)
	}
	if code, body, _ := call(t, s, "POST", "sys/mounts/team-b/tune", s.RootToken, map[string]any{"listing_visibility": "everyone"}); code != http.StatusBadRequest {
		t.Fatalf("bad listing_visibility: %d %v; want 400", code, body)
	}

	t.Run("unauthenticated", func(t *testing.T) {
		code, body, _ := call(t, s, "GET", "sys/internal/ui/mounts", "", nil)
		if code != 200 {
			t.Fatalf("%d %v", code, body)
		}
		data := body["data"].(map[string]any)
		if got := keysOf(data["secret"]); !slices.Equal(got, []string{"team-b/"}) {
			t.Errorf("secret mounts = %v; want only team-b/", got)
		}
		if got := keysOf(data["auth"]); !slices.Equal(got, []string{"userpass/"}) {
			t.Errorf("auth mounts = %v; want only userpass/", got)
		}
		mb := data["secret"].(map[string]any)["team-b/"]
		if got := keysOf(mb); !slices.Equal(got, []string{"description", "options", "type"}) {
			t.Errorf("unauthenticated mount keys = %v; want description, options, type", got)
		}
		if up := data["auth"].(map[string]any)["userpass/"].(map[string]any); up["options"] == nil {
			t.Errorf("auth mount options = null; want {}")
		}
		// An invalid token is the same as none.
		code, body, _ = call(t, s, "GET", "sys/internal/ui/mounts", "not-a-token", nil)
		if code != 200 || !slices.Equal(keysOf(body["data"].(map[string]any)["secret"]), []string{"team-b/"}) {
			t.Errorf("invalid token: %d %v", code, body)
		}
	})

	limited := tokenWith(t, s, "team-a-reader", `path "team-a/data/*" { capabilities = ["read"] }`)
	t.Run("limited token", func(t *testing.T) {
		code, body, _ := call(t, s, "GET", "sys/internal/ui/mounts", limited, nil)
		if code != 200 {
			t.Fatalf("%d %v", code, body)
		}
		data := body["data"].(map[string]any)
		if got := keysOf(data["secret"]); !slices.Equal(got, []string{"team-a/", "team-b/"}) {
			t.Errorf("secret mounts = %v; want team-a/ (policy) and team-b/ (unauth)", got)
		}
		if got := keysOf(data["auth"]); !slices.Equal(got, []string{"userpass/"}) {
			t.Errorf("auth mounts = %v; want userpass/", got)
		}
		ma := data["secret"].(map[string]any)["team-a/"].(map[string]any)
		for _, k := range []string{"accessor", "uuid", "config", "local", "seal_wrap"} {
			if _, ok := ma[k]; !ok {
				t.Errorf("a reachable mount lacks %q", k)
			}
		}
	})

	t.Run("root token", func(t *testing.T) {
		code, body, _ := call(t, s, "GET", "sys/internal/ui/mounts", s.RootToken, nil)
		data := body["data"].(map[string]any)
		for _, want := range []string{"cubbyhole/", "secret/", "sys/", "team-a/", "team-b/"} {
			if _, ok := data["secret"].(map[string]any)[want]; code != 200 || !ok {
				t.Errorf("root does not see %s: %d", want, code)
			}
		}
	})

	t.Run("one mount", func(t *testing.T) {
		code, body, _ := call(t, s, "GET", "sys/internal/ui/mounts/team-a/data/x", limited, nil)
		if code != 200 || body["data"].(map[string]any)["path"] != "team-a/" || body["data"].(map[string]any)["type"] != "kv" {
			t.Errorf("reachable mount: %d %v", code, body)
		}
		code, body, _ = call(t, s, "GET", "sys/internal/ui/mounts/team-b/data/x", limited, nil)
		errs, _ := body["errors"].([]any)
		if code != http.StatusForbidden || len(errs) != 1 || !strings.Contains(errs[0].(string), "preflight capability check returned 403") {
			t.Errorf("unreachable mount: %d %v; want 403 preflight", code, body)
		}
		if code, body, _ = call(t, s, "GET", "sys/internal/ui/mounts/team-a", "", nil); code != http.StatusForbidden {
			t.Errorf("without a token: %d %v; want 403", code, body)
		}
		if code, body, _ = call(t, s, "GET", "sys/internal/ui/mounts/nowhere/x", s.RootToken, nil); code != http.StatusForbidden {
			t.Errorf("no such mount: %d %v; want 403", code, body)
		}
	})
}

// TestMountShapes pins the fields Vault shows for mounts and their tune.
func TestMountShapes(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if err := s.Client.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	code, body, _ := call(t, s, "GET", "sys/mounts", s.RootToken, nil)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	mounts := body["data"].(map[string]any)
	sys := mounts["sys/"].(map[string]any)
	if sys["seal_wrap"] != true {
		t.Errorf("sys/ seal_wrap = %v; want true", sys["seal_wrap"])
	}
	if h, _ := sys["config"].(map[string]any)["passthrough_request_headers"].([]any); len(h) != 1 || h[0] != "Accept" {
		t.Errorf("sys/ passthrough_request_headers = %v; want [Accept]", h)
	}
	if _, ok := sys["deprecation_status"]; ok {
		t.Errorf("sys/ has a deprecation_status; Vault gives none to core mounts")
	}
	if cb := mounts["cubbyhole/"].(map[string]any); cb["local"] != true {
		t.Errorf("cubbyhole/ local = %v; want true", cb["local"])
	}
	if kv := mounts["secret/"].(map[string]any); kv["deprecation_status"] != "supported" {
		t.Errorf("secret/ deprecation_status = %v; want supported", kv["deprecation_status"])
	}
	// sys/mounts shows 0 for an unset TTL; the tune read shows the
	// effective one (the system default, 32 days).
	if cfg := mounts["secret/"].(map[string]any)["config"].(map[string]any); cfg["default_lease_ttl"] != 0.0 {
		t.Errorf("sys/mounts default_lease_ttl = %v; want 0", cfg["default_lease_ttl"])
	}
	code, body, _ = call(t, s, "GET", "sys/mounts/secret/tune", s.RootToken, nil)
	tune := body["data"].(map[string]any)
	if code != 200 || tune["default_lease_ttl"] != 2764800.0 || tune["max_lease_ttl"] != 2764800.0 {
		t.Errorf("tune read: %d %v; want effective TTLs 2764800", code, tune)
	}
	if _, ok := tune["token_type"]; ok {
		t.Errorf("a secrets engine's tune shows token_type")
	}
	if code, _, _ := call(t, s, "POST", "sys/mounts/secret/tune", s.RootToken, map[string]any{"default_lease_ttl": "1h"}); code != 204 {
		t.Fatalf("tune: %d", code)
	}
	_, body, _ = call(t, s, "GET", "sys/mounts/secret/tune", s.RootToken, nil)
	if tune = body["data"].(map[string]any); tune["default_lease_ttl"] != 3600.0 || tune["max_lease_ttl"] != 2764800.0 {
		t.Errorf("tuned read: %v; want 3600 / 2764800", tune)
	}

	code, body, _ = call(t, s, "GET", "sys/auth", s.RootToken, nil)
	for _, p := range []string{"token/", "approle/"} {
		m := body["data"].(map[string]any)[p].(map[string]any)
		if opts, ok := m["options"].(map[string]any); code != 200 || !ok || len(opts) != 0 {
			t.Errorf("auth %s options = %v; want {}", p, m["options"])
		}
		if tt := m["config"].(map[string]any)["token_type"]; tt != "default-service" {
			t.Errorf("auth %s config.token_type = %v; want default-service", p, tt)
		}
	}
	_, body, _ = call(t, s, "GET", "sys/auth/approle/tune", s.RootToken, nil)
	if tune = body["data"].(map[string]any); tune["token_type"] != "default-service" || tune["default_lease_ttl"] != 2764800.0 {
		t.Errorf("auth tune: %v", tune)
	}
}

// TestTopLevelCopy pins where Vault repeats data at the top level: the
// legacy sys/ endpoints only, never an unwrapped secret.
func TestTopLevelCopy(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	_, body, _ := call(t, s, "GET", "sys/mounts", s.RootToken, nil)
	if _, ok := body["secret/"]; !ok {
		t.Errorf("sys/mounts lacks its top-level copy")
	}
	_, body, _ = call(t, s, "GET", "sys/policy", s.RootToken, nil)
	if _, ok := body["policies"]; !ok {
		t.Errorf("sys/policy lacks its top-level copy")
	}
	_, body, _ = call(t, s, "GET", "sys/policies/acl?list=true", s.RootToken, nil)
	if _, ok := body["keys"]; ok {
		t.Errorf("sys/policies/acl copies data to the top level; Vault does not")
	}

	// A wrapped secret whose data has an "errors" key unwraps as data.
	code, body, _ := call(t, s, "POST", "sys/wrapping/wrap", s.RootToken, map[string]any{"errors": []string{"boom"}, "v": 1}, "X-Vault-Wrap-TTL", "60")
	if code != 200 {
		t.Fatalf("wrap: %d %v", code, body)
	}
	wt := body["wrap_info"].(map[string]any)["token"].(string)
	code, body, _ = call(t, s, "POST", "sys/wrapping/unwrap", wt, nil)
	if code != 200 {
		t.Fatalf("unwrap: %d %v", code, body)
	}
	if _, ok := body["errors"]; ok {
		t.Errorf("unwrap copied data to the top level: %v", body)
	}
	if d := body["data"].(map[string]any); d["v"] != 1.0 {
		t.Errorf("unwrapped data = %v", d)
	}
}

// TestWrapNeedsWrapTTL pins Vault's refusal of sys/wrapping/wrap without
// X-Vault-Wrap-TTL.
func TestWrapNeedsWrapTTL(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	code, body, _ := call(t, s, "POST", "sys/wrapping/wrap", s.RootToken, map[string]any{"a": "b"})
	errs, _ := body["errors"].([]any)
	if code != http.StatusBadRequest || len(errs) != 1 || errs[0] != "endpoint requires response wrapping to be used" {
		t.Fatalf("wrap without a TTL: %d %v; want 400", code, body)
	}
}

// TestPolicyListRootLast pins Vault's order: stored policies sorted, then
// root.
func TestPolicyListRootLast(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if err := s.Client.Sys().PutPolicy("zeta", `path "a" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.Sys().PutPolicy("alpha", `path "a" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	want := []any{"alpha", "default", "zeta", "root"}
	_, body, _ := call(t, s, "GET", "sys/policy", s.RootToken, nil)
	if got := body["data"].(map[string]any)["policies"].([]any); !slices.Equal(got, want) {
		t.Errorf("sys/policy = %v; want %v", got, want)
	}
	_, body, _ = call(t, s, "LIST", "sys/policies/acl", s.RootToken, nil)
	if got := body["data"].(map[string]any)["keys"].([]any); !slices.Equal(got, want) {
		t.Errorf("sys/policies/acl = %v; want %v", got, want)
	}
}

// TestHostInfo pins sys/host-info: sudo only, Vault's keys.
func TestHostInfo(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	code, body, _ := call(t, s, "GET", "sys/host-info", s.RootToken, nil)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	data := body["data"].(map[string]any)
	for _, k := range []string{"collection_time", "cpu", "cpu_times", "disk", "host", "memory"} {
		if _, ok := data[k]; !ok {
			t.Errorf("host-info lacks %q", k)
		}
	}
	if _, ok := data["host"].(map[string]any)["os"]; !ok {
		t.Errorf("host-info host lacks os")
	}
	reader := tokenWith(t, s, "hostinfo-reader", `path "sys/host-info" { capabilities = ["read"] }`)
	if code, _, _ := call(t, s, "GET", "sys/host-info", reader, nil); code != http.StatusForbidden {
		t.Errorf("without sudo: %d; want 403", code)
	}
	sudo := tokenWith(t, s, "hostinfo-sudo", `path "sys/host-info" { capabilities = ["read", "sudo"] }`)
	if code, _, _ := call(t, s, "GET", "sys/host-info", sudo, nil); code != 200 {
		t.Errorf("with sudo: %d; want 200", code)
	}
}

// TestQuotaConfig pins sys/quotas/config: stored, read back, and honoured.
func TestQuotaConfig(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	code, body, _ := call(t, s, "GET", "sys/quotas/config", s.RootToken, nil)
	data := body["data"].(map[string]any)
	if code != 200 || data["enable_rate_limit_response_headers"] != false || data["enable_rate_limit_audit_logging"] != false {
		t.Fatalf("defaults: %d %v", code, data)
	}
	if p, ok := data["rate_limit_exempt_paths"].([]any); !ok || len(p) != 0 {
		t.Errorf("default exempt paths = %v; want []", data["rate_limit_exempt_paths"])
	}
	if code, _, _ := call(t, s, "POST", "sys/quotas/rate-limit/kv", s.RootToken, map[string]any{"path": "secret/", "rate": 3, "interval": "1h"}); code != 204 {
		t.Fatalf("quota: %d", code)
	}
	// Without the headers option no X-Ratelimit headers.
	if _, _, h := call(t, s, "GET", "secret/config", s.RootToken, nil); h.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("headers while disabled: %v", h)
	}
	code, body, _ = call(t, s, "POST", "sys/quotas/config", s.RootToken, map[string]any{
		"enable_rate_limit_response_headers": true, "rate_limit_exempt_paths": []string{"secret/metadata/*"}})
	if code != 204 {
		t.Fatalf("config write: %d %v", code, body)
	}
	_, body, _ = call(t, s, "GET", "sys/quotas/config", s.RootToken, nil)
	data = body["data"].(map[string]any)
	if data["enable_rate_limit_response_headers"] != true || !slices.Equal(data["rate_limit_exempt_paths"].([]any), []any{"secret/metadata/*"}) {
		t.Fatalf("config read back: %v", data)
	}
	// The second request against a rate of 3 leaves 1.
	_, _, h := call(t, s, "GET", "secret/config", s.RootToken, nil)
	if h.Get("X-Ratelimit-Limit") != "3" || h.Get("X-Ratelimit-Remaining") != "1" {
		t.Errorf("rate limit headers = %v", h)
	}
	// The reset is in seconds: two of three requests per hour to refill.
	if reset, err := strconv.Atoi(h.Get("X-Ratelimit-Reset")); err != nil || reset < 2300 || reset > 2400 {
		t.Errorf("X-Ratelimit-Reset = %q; want about 2400 (seconds)", h.Get("X-Ratelimit-Reset"))
	}
	// Exempt paths are never limited and carry no headers.
	for i := 0; i < 5; i++ {
		if code, _, h := call(t, s, "LIST", "secret/metadata", s.RootToken, nil); code == http.StatusTooManyRequests || h.Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("exempt path: %d %v", code, h)
		}
	}
	call(t, s, "GET", "secret/config", s.RootToken, nil)
	code, _, h = call(t, s, "GET", "secret/config", s.RootToken, nil)
	if code != http.StatusTooManyRequests || h.Get("X-Ratelimit-Remaining") != "0" || h.Get("Retry-After") == "" {
		t.Errorf("over the limit: %d %v", code, h)
	}
	// A write sets every field: those left out go back to their defaults.
	if code, _, _ := call(t, s, "POST", "sys/quotas/config", s.RootToken, map[string]any{"enable_rate_limit_audit_logging": true}); code != 204 {
		t.Fatalf("config write: %d", code)
	}
	_, body, _ = call(t, s, "GET", "sys/quotas/config", s.RootToken, nil)
	data = body["data"].(map[string]any)
	if data["enable_rate_limit_response_headers"] != false || data["enable_rate_limit_audit_logging"] != true || len(data["rate_limit_exempt_paths"].([]any)) != 0 {
		t.Errorf("after a partial write: %v", data)
	}
	// A bad exempt path is refused.
	if code, _, _ := call(t, s, "POST", "sys/quotas/config", s.RootToken, map[string]any{"rate_limit_exempt_paths": []string{"a*b"}}); code != http.StatusBadRequest {
		t.Errorf("bad exempt path: %d; want 400", code)
	}
}

// TestQuotaAuditLogging pins enable_rate_limit_audit_logging: requests a
// quota refuses reach the audit log only when it is on.
func TestQuotaAuditLogging(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := s.Client.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := call(t, s, "POST", "sys/quotas/rate-limit/one", s.RootToken, map[string]any{"path": "cubbyhole/", "rate": 1, "interval": "1h"}); code != 204 {
		t.Fatalf("quota: %d", code)
	}
	refusals := func() int {
		raw, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(raw), "rate limit quota exceeded")
	}
	call(t, s, "GET", "cubbyhole/x", s.RootToken, nil)
	if code, _, _ := call(t, s, "GET", "cubbyhole/x", s.RootToken, nil); code != http.StatusTooManyRequests {
		t.Fatalf("second request: %d; want 429", code)
	}
	if n := refusals(); n != 0 {
		t.Fatalf("%d refusals audited while disabled", n)
	}
	if code, _, _ := call(t, s, "POST", "sys/quotas/config", s.RootToken, map[string]any{"enable_rate_limit_audit_logging": "true"}); code != 204 {
		t.Fatalf("config: %d", code)
	}
	if code, _, _ := call(t, s, "GET", "cubbyhole/x", s.RootToken, nil); code != http.StatusTooManyRequests {
		t.Fatalf("third request: %d; want 429", code)
	}
	if n := refusals(); n == 0 {
		t.Fatalf("refusal not audited while enabled")
	}
}
