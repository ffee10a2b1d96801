package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDevServerServesUI: dev mode turns the web UI on, and / sends a
// browser to it, as the README says.
func TestDevServerServesUI(t *testing.T) {
	addr := freePort(t)
	startDevProc(t, t.TempDir(), addr, nil, "-dev-root-token-id=root", "-dev-listen-address="+addr)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/login" || !strings.Contains(string(body), "Sign in") {
		t.Fatalf("GET / ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}
