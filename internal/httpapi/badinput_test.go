package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// rawRequest sends exactly the request line given, so that no client library
// cleans the path first.
func rawRequest(t *testing.T, addr, method, target, token string) (int, string) {
	t.Helper()
	host := strings.TrimPrefix(addr, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nX-Vault-Token: %s\r\nConnection: close\r\n\r\n", method, target, host, token)
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestPathTraversalRefused(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	for _, target := range []string{
		"/v1/secret/../sys/policies/acl/root",
		"/v1/secret/%2e%2e/sys/key-status",
		"/v1/secret/%2E%2E/sys/key-status",
		"/v1/sys%2fkey-status",
		"/v1/sys%2Fkey-status",
		"/v1//sys/key-status",
		"/v1/sys//key-status",
		"/v1/./sys/key-status",
		"/v1/sys/./key-status",
		"/v1/auth/token/lookup-self/..",
		"/v1/sys/key-status%00",
		"/v1/sys\\key-status",
	} {
		code, body := rawRequest(t, s.Addr, "GET", target, s.RootToken)
		if code != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s; want 400", target, code, body)
		}
	}
	// The clean path still works.
	if code, body := rawRequest(t, s.Addr, "GET", "/v1/sys/key-status", s.RootToken); code != http.StatusOK {
		t.Fatalf("GET /v1/sys/key-status = %d %s", code, body)
	}
}

func TestBodyLimits(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	post := func(body io.Reader, length int64) (int, string) {
		req, _ := http.NewRequest("POST", s.Addr+"/v1/auth/token/lookup", body)
		req.ContentLength = length
		req.Header.Set("X-Vault-Token", s.RootToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	big := bytes.Repeat([]byte("a"), 33<<20)
	bigJSON := append(append([]byte(`{"x":"`), big...), '"', '}')
	if code, _ := post(bytes.NewReader(bigJSON), int64(len(bigJSON))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("33 MiB body = %d; want 413", code)
	}
	// Chunked: no Content-Length, the limit still holds.
	if code, _ := post(io.MultiReader(bytes.NewReader(bigJSON)), -1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 33 MiB body = %d; want 413", code)
	}
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for name, body := range map[string]string{
		"nested 100000 deep": `{"a":` + deep + `}`,
		"a million keys":     manyKeys(1000000),
		"an array of 1e6":    `{"a":[` + strings.Repeat(`"x",`, 999999) + `"x"]}`,
		"not an object":      `["a"]`,
		"malformed":          `{"a":`,
		"trailing data":      `{"a":1}{"b":2}`,
	} {
		code, resp := post(strings.NewReader(body), int64(len(body)))
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %.200s; want 400", name, code, resp)
		}
		var env struct{ Errors []string }
		if json.Unmarshal([]byte(resp), &env) != nil || len(env.Errors) == 0 {
			t.Errorf("%s: body %.200q is not an errors envelope", name, resp)
		}
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	b.WriteString("}")
	return b.String()
}

func TestTokenOnlyFromHeaders(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	for name, build := range map[string]func() *http.Request{
		"query": func() *http.Request {
			r, _ := http.NewRequest("GET", s.Addr+"/v1/sys/key-status?token="+s.RootToken, nil)
			return r
		},
		"cookie": func() *http.Request {
			r, _ := http.NewRequest("GET", s.Addr+"/v1/sys/key-status", nil)
			r.AddCookie(&http.Cookie{Name: "token", Value: s.RootToken})
			return r
		},
		"form body": func() *http.Request {
			r, _ := http.NewRequest("POST", s.Addr+"/v1/sys/rotate", strings.NewReader("token="+s.RootToken))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
	} {
		resp, err := http.DefaultClient.Do(build())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("token in %s: %d; want 403 (or 400 for a non-JSON body)", name, resp.StatusCode)
		}
	}
	// Authorization: Bearer is accepted, as in Vault.
	r, _ := http.NewRequest("GET", s.Addr+"/v1/sys/key-status", nil)
	r.Header.Set("Authorization", "Bearer "+s.RootToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Bearer token: %d", resp.StatusCode)
	}
}

func TestNoCORSByDefault(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	for _, method := range []string{"OPTIONS", "GET"} {
		r, _ := http.NewRequest(method, s.Addr+"/v1/sys/health", nil)
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-allow") {
				t.Errorf("%s: CORS header %s set without CORS configured", method, k)
			}
		}
	}
}

func TestMethodsAndEnvelope(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	do := func(method, path string) (int, map[string]any) {
		r, _ := http.NewRequest(method, s.Addr+path, nil)
		r.Header.Set("X-Vault-Token", s.RootToken)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := do("TRACE", "/v1/sys/key-status"); code != http.StatusMethodNotAllowed {
		t.Errorf("TRACE = %d; want 405", code)
	}
	if code, m := do("GET", "/v1/nonexistent/path"); code != http.StatusNotFound || m["errors"] == nil {
		t.Errorf("unknown mount = %d %v; want 404 with errors", code, m)
	}
	code, m := do("GET", "/v1/sys/key-status")
	if code != http.StatusOK {
		t.Fatalf("key-status = %d", code)
	}
	for _, k := range []string{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"} {
		if _, ok := m[k]; !ok {
			t.Errorf("envelope lacks %q: %v", k, m)
		}
	}
	if m["term"] == nil {
		t.Errorf("sys/ response data not repeated at top level: %v", m)
	}
	if m["mount_type"] != "system" {
		t.Errorf("mount_type = %v, want system", m["mount_type"])
	}
	if code, _ := do("GET", "/v1/sys/key-status?list=true"); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
		t.Errorf("list on a read-only path = %d", code)
	}
	if code, _ := do("GET", "/v2/sys/health"); code != http.StatusNotFound {
		t.Errorf("/v2 = %d; want 404", code)
	}
}

// TestRateLimitQuota: beyond a quota, 429 with Retry-After.
func TestRateLimitQuota(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if _, err := s.Client.Logical().Write("sys/quotas/rate-limit/kv", map[string]any{"path": "secret/", "rate": 3, "interval": "10s"}); err != nil {
		t.Fatal(err)
	}
	q, err := s.Client.Logical().Read("sys/quotas/rate-limit/kv")
	if err != nil || q.Data["path"] != "secret/" {
		t.Fatalf("read quota: %+v %v", q, err)
	}
	var limited *http.Response
	for i := 0; i < 10 && limited == nil; i++ {
		r, _ := http.NewRequest("GET", s.Addr+"/v1/secret/data/x", nil)
		r.Header.Set("X-Vault-Token", s.RootToken)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp
		}
	}
	if limited == nil {
		t.Fatal("no 429 after 10 requests against a quota of 3 per 10s")
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Other paths are not limited by a mount quota; sys/health never is.
	if _, err := s.Client.Sys().ListMounts(); err != nil {
		t.Fatalf("sys/mounts under a secret/ quota: %v", err)
	}
}

// TestPrivilegedEndpointsNeedAToken: rekey, generate-root and raft-join
// floods from anonymous clients get 403 and keep no state.
func TestPrivilegedEndpointsNeedAToken(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	for _, p := range []string{"sys/rekey/init", "sys/generate-root/attempt", "sys/storage/raft/join", "sys/rekey/update"} {
		for i := 0; i < 50; i++ {
			resp, err := http.Post(s.Addr+"/v1/"+p, "application/json", strings.NewReader(`{"secret_shares":5,"secret_threshold":3}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("anonymous POST %s = %d; want 403", p, resp.StatusCode)
			}
		}
	}
}
