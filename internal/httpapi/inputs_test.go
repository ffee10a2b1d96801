package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestOneWayToReadInputs pins how each endpoint reads durations, booleans
// and empty bodies, now that they share one parser (package parse).
// "changed" marks inputs whose answer differed before the parsers were
// unified; every other row answered the same before.
func TestOneWayToReadInputs(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if _, err := s.Client.Logical().Write("secret/data/a", map[string]any{"data": map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	send := func(method, path, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.Addr+"/v1/"+path, strings.NewReader(body))
		req.Header.Set("X-Vault-Token", s.RootToken)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          map[string]string
		want         int
		contains     string
	}{
		// Mount TTLs (sys): seconds, Go durations, days; "system"; never negative.
		{name: "tune ttl go duration", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":"1h"}`, want: 204},
		{name: "tune ttl seconds", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":3600}`, want: 204},
		{name: "tune ttl quoted seconds", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":"3600"}`, want: 204},
		{name: "tune ttl days (changed: was 400)", method: "POST", path: "sys/mounts/secret/tune", body: `{"max_lease_ttl":"30d"}`, want: 204},
		{name: "tune ttl system", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":"system"}`, want: 204},
		{name: "tune ttl negative", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":"-1"}`, want: 400},
		{name: "tune ttl word", method: "POST", path: "sys/mounts/secret/tune", body: `{"default_lease_ttl":"soon"}`, want: 400},
		// The wrapping TTL header (httpapi).
		{name: "wrap ttl seconds", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "300"}, want: 200, contains: `"wrap_info":{`},
		{name: "wrap ttl duration", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "5m"}, want: 200, contains: `"ttl":300`},
		{name: "wrap ttl days (changed: was 400)", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "1d"}, want: 200, contains: `"ttl":86400`},
		{name: "wrap ttl zero", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "0"}, want: 400},
		{name: "wrap ttl negative", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "-5"}, want: 400},
		{name: "wrap ttl word", method: "GET", path: "secret/data/a", hdr: map[string]string{"X-Vault-Wrap-TTL": "soon"}, want: 400},
		// Engine fields (framework).
		{name: "kv field days", method: "POST", path: "secret/config", body: `{"delete_version_after":"30d"}`, want: 204},
		{name: "kv field negative", method: "POST", path: "secret/config", body: `{"delete_version_after":"-1s"}`, want: 400},
		{name: "kv field bool any case", method: "POST", path: "secret/config", body: `{"cas_required":"FALSE"}`, want: 204},
		{name: "kv field bool word", method: "POST", path: "secret/config", body: `{"cas_required":"yes"}`, want: 400},
		// Booleans in query strings (httpapi, core).
		{name: "list=true", method: "GET", path: "secret/metadata/?list=true", want: 200, contains: `"keys":["a"]`},
		{name: "list=T", method: "GET", path: "secret/metadata/?list=T", want: 200, contains: `"keys":["a"]`},
		{name: "list=tRuE (changed: was a read)", method: "GET", path: "secret/metadata/?list=tRuE", want: 200, contains: `"keys":["a"]`},
		// Booleans in bodies (sys).
		{name: "kv move copy word (changed: was a move)", method: "POST", path: "sys/kv/move", body: `{"from":"secret/a","to":"secret/b","copy":"yes"}`, want: 400},
		{name: "kv move copy t", method: "POST", path: "sys/kv/move", body: `{"from":"secret/a","to":"secret/b","copy":"t"}`, want: 204},
		// Empty bodies: nothing, blanks and null are the empty object.
		{name: "policy empty body", method: "PUT", path: "sys/policy/p", body: ``, want: 400, contains: "policy"},
		{name: "policy null body", method: "PUT", path: "sys/policy/p", body: `null`, want: 400, contains: "policy"},
		{name: "unseal null body (changed: was a JSON error)", method: "PUT", path: "sys/unseal", body: ` null `, want: 400, contains: "'key' must be specified"},
		{name: "unseal empty body", method: "PUT", path: "sys/unseal", body: ``, want: 400, contains: "'key' must be specified"},
		{name: "unseal array body", method: "PUT", path: "sys/unseal", body: `[]`, want: 400, contains: "error parsing JSON"},
	}
	for _, tc := range tests {
		code, body := send(tc.method, tc.path, tc.body, tc.hdr)
		if code != tc.want || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", tc.name, code, bytes.TrimSpace([]byte(body)), tc.want, tc.contains)
		}
	}
	// The copy above left the source in place.
	if sec, err := s.Client.Logical().Read("secret/data/a"); err != nil || sec == nil {
		t.Errorf("source after copy: %v %v", sec, err)
	}
}
