package telemetry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

func get(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestSysMetrics(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if _, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}}); err != nil {
		t.Fatal(err)
	}
	code, ctype, body := get(t, s.Addr+"/v1/sys/metrics?format=prometheus", s.RootToken)
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("prometheus metrics: %d %s", code, ctype)
	}
	for _, want := range []string{
		"vault_core_unsealed 1", "vault_token_creation ", "vault_token_revocation ",
		"vault_runtime_alloc_bytes ", "vault_runtime_num_goroutines ", "vault_core_handle_request_bucket",
		`vault_route_count{mount="auth/token/",operation="update"}`, "vault_expire_num_leases 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("prometheus output lacks %q", want)
		}
	}
	if strings.Contains(body, "vault_token_creation 0\n") {
		t.Error("token creation not counted")
	}
	code, _, body = get(t, s.Addr+"/v1/sys/metrics", s.RootToken)
	var snap map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &snap) != nil || snap["Gauges"] == nil {
		t.Fatalf("JSON metrics: %d %.200s", code, body)
	}
	if code, _, _ := get(t, s.Addr+"/v1/sys/metrics?format=prometheus", ""); code != http.StatusForbidden {
		t.Fatalf("metrics without a token: %d; want 403", code)
	}
}

func TestUnauthenticatedMetricsAccess(t *testing.T) {
	s := servertest.New(t, servertest.Options{Listener: &config.Listener{
		Type: "tcp", TLSDisable: true, UnauthenticatedMetricsAccess: true,
	}})
	if code, _, body := get(t, s.Addr+"/v1/sys/metrics?format=prometheus", ""); code != http.StatusOK || !strings.Contains(body, "vault_core_unsealed 1") {
		t.Fatalf("open metrics without a token: %d", code)
	}
	// Nothing else opens up.
	if code, _, _ := get(t, s.Addr+"/v1/sys/mounts", ""); code != http.StatusForbidden {
		t.Fatalf("sys/mounts without a token: %d; want 403", code)
	}
}
