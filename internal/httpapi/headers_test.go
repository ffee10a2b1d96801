package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// do sends a request with the given headers and returns the response,
// its body closed.
func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func corsHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k)
		}
	}
	return out
}

// TestCORS drives sys/config/cors and real preflights with Go's client.
func TestCORS(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	const origin = "https://app.example"
	preflight := map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "LIST",
		"Access-Control-Request-Headers": "X-Vault-Token",
	}
	url := s.Addr + "/v1/secret/metadata/"

	// Not configured: no Access-Control-* header, whatever the origin.
	if resp := do(t, hc, http.MethodOptions, url, preflight); len(corsHeaders(resp.Header)) > 0 {
		t.Fatalf("CORS headers without a policy: %v", resp.Header)
	}
	sec, err := s.Client.Logical().Read("sys/config/cors")
	if err != nil || sec.Data["enabled"] != false {
		t.Fatalf("read unset policy: %+v %v", sec, err)
	}
	// Bad input.
	for _, bad := range []map[string]any{
		{}, {"allowed_origins": ""}, {"allowed_origins": []string{"*", origin}},
	} {
		if _, err := s.Client.Logical().Write("sys/config/cors", bad); statusOf(err) != http.StatusBadRequest {
			t.Errorf("write %v: %v; want 400", bad, err)
		}
	}
	// It needs sudo.
	if err := s.Client.Sys().PutPolicy("cors-admin", `path "sys/config/cors" { capabilities = ["read", "update", "delete"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"cors-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	limited, _ := s.Client.Clone()
	limited.SetToken(tok.Auth.ClientToken)
	if _, err := limited.Logical().Write("sys/config/cors", map[string]any{"allowed_origins": origin}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("write without sudo: %v; want 403", err)
	}

	if _, err := s.Client.Logical().Write("sys/config/cors", map[string]any{
		"allowed_origins": []string{origin}, "allowed_headers": "X-Custom-Header",
	}); err != nil {
		t.Fatal(err)
	}
	sec, err = s.Client.Logical().Read("sys/config/cors")
	if err != nil || sec.Data["enabled"] != true {
		t.Fatalf("read policy: %+v %v", sec, err)
	}
	headers := strings.Fields(strings.Trim(strings.ReplaceAll(fmtList(sec.Data["allowed_headers"]), ",", " "), "[]"))
	if !slices.Contains(headers, "X-Vault-Token") || !slices.Contains(headers, "X-Custom-Header") {
		t.Errorf("allowed_headers = %v; want the standard ones and X-Custom-Header", headers)
	}

	resp := do(t, hc, http.MethodOptions, url, preflight)
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "LIST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Custom-Header") ||
		h.Get("Access-Control-Max-Age") != "300" || h.Get("Vary") != "Origin" {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	if resp := do(t, hc, http.MethodOptions, url, map[string]string{"Origin": origin, "Access-Control-Request-Method": "TRACE"}); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("preflight for TRACE: %d; want 405", resp.StatusCode)
	}
	if resp := do(t, hc, http.MethodOptions, url, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}); resp.StatusCode != http.StatusForbidden || len(corsHeaders(resp.Header)) > 0 {
		t.Errorf("preflight from another origin: %d %v; want 403 without CORS headers", resp.StatusCode, resp.Header)
	}
	// An actual request from the page carries the origin back.
	resp = do(t, hc, http.MethodGet, s.Addr+"/v1/sys/health", map[string]string{"Origin": origin})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("GET from the page: %d %v", resp.StatusCode, resp.Header)
	}
	// Clients without an Origin are untouched.
	if resp := do(t, hc, http.MethodGet, s.Addr+"/v1/sys/health", nil); len(corsHeaders(resp.Header)) > 0 {
		t.Errorf("CORS headers for a non-browser client: %v", resp.Header)
	}

	// The policy survives a seal and unseal.
	if err := s.Client.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Sys().Unseal(s.UnsealKeys[0]); err != nil {
		t.Fatal(err)
	}
	if sec, err := s.Client.Logical().Read("sys/config/cors"); err != nil || sec.Data["enabled"] != true {
		t.Fatalf("policy after unseal: %+v %v", sec, err)
	}

	// Deleting it turns CORS off again.
	if _, err := s.Client.Logical().Delete("sys/config/cors"); err != nil {
		t.Fatal(err)
	}
	if resp := do(t, hc, http.MethodOptions, url, preflight); len(corsHeaders(resp.Header)) > 0 {
		t.Fatalf("CORS headers after delete: %v", resp.Header)
	}
}

func fmtList(v any) string {
	var parts []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ",")
}

// TestResponseHeaders pins the headers of responses over plain HTTP and
// TLS, with and without the listener's custom_response_headers.
func TestResponseHeaders(t *testing.T) {
	custom := map[string]map[string]string{
		"default": {"X-Custom": "default", "Content-Security-Policy": "default-src 'none'"},
		"4xx":     {"X-Custom": "client-error"},
		"404":     {"X-Custom": "not-found"},
	}
	plain := servertest.New(t, servertest.Options{})
	withCustom := servertest.New(t, servertest.Options{Listener: &config.Listener{
		Type: "tcp", TLSDisable: true, MaxRequestSize: config.DefaultMaxRequestSize, CustomResponseHeaders: custom,
	}})
	cert, key := selfSigned(t)
	withTLS := servertest.New(t, servertest.Options{Listener: &config.Listener{
		Type: "tcp", TLSCertFile: cert, TLSKeyFile: key, MaxRequestSize: config.DefaultMaxRequestSize,
	}})
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // our own throwaway certificate on loopback
	}}
	tests := map[string]struct {
		url  string
		want map[string]string // "" means the header must be absent
	}{
		"plain 200": {plain.Addr + "/v1/sys/health", map[string]string{
			"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "",
			"Content-Type": "application/json", "X-Custom": "",
		}},
		"plain 404": {plain.Addr + "/v1/nope/x", map[string]string{
			"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		}},
		"custom 200 gets default": {withCustom.Addr + "/v1/sys/health", map[string]string{
			"X-Custom": "default", "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
		}},
		"custom 4xx (no token) gets the class": {withCustom.Addr + "/v1/secret/data/x", map[string]string{
			"X-Custom": "client-error", "Content-Security-Policy": "default-src 'none'",
		}},
		"another 4xx gets the class": {withCustom.Addr + "/v1/sys/rotate", map[string]string{"X-Custom": "client-error"}},
		"tls 200": {withTLS.Addr + "/v1/sys/health", map[string]string{
			"Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Content-Type-Options": "nosniff",
		}},
	}
	for name, tc := range tests {
		resp := do(t, hc, http.MethodGet, tc.url, nil)
		for k, want := range tc.want {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s (%d): %s = %q, want %q", name, resp.StatusCode, k, got, want)
			}
		}
	}
	// A 404 gets its own code's value over the class's.
	resp := do(t, hc, http.MethodGet, withCustom.Addr+"/v1/secret/data/missing", map[string]string{"X-Vault-Token": withCustom.RootToken})
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Custom") != "not-found" {
		t.Errorf("custom 404: %d X-Custom=%q; want 404 not-found", resp.StatusCode, resp.Header.Get("X-Custom"))
	}
}

// selfSigned writes a throwaway certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
