package cert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"

	"github.com/ryanuber/go-glob"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestCertRoles(t *testing.T) {
	b := newTestBackend(t)
	ca := newCA(t, "Test CA")
	b.must(t, logical.CreateOperation, "certs/web", map[string]any{
		"certificate": ca.pem(), "policies": "web", "allowed_common_names": "*.example.com", "ttl": "1h",
	})
	resp := b.must(t, logical.ReadOperation, "certs/web", nil)
	if resp.Data["certificate"] != ca.pem() || resp.Data["token_ttl"] != int64(3600) ||
		!slices.Equal(resp.Data["allowed_common_names"].([]string), []string{"*.example.com"}) ||
		!slices.Equal(resp.Data["token_policies"].([]string), []string{"web"}) {
		t.Errorf("read = %v", resp.Data)
	}
	b.must(t, logical.CreateOperation, "certs/db", map[string]any{"certificate": ca.pem()})
	if got := b.must(t, logical.ListOperation, "certs/", nil).Data["keys"].([]string); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("list = %v", got)
	}
	b.must(t, logical.DeleteOperation, "certs/db", nil)
	if resp := b.must(t, logical.ReadOperation, "certs/db", nil); resp != nil {
		t.Errorf("read after delete = %v", resp.Data)
	}

	for name, tc := range map[string]struct {
		data map[string]any
		msg  string
	}{
		"no certificate":  {data: map[string]any{"policies": "x"}, msg: "missing certificate"},
		"not PEM":         {data: map[string]any{"certificate": "hello"}, msg: "failed to parse certificate"},
		"bad token field": {data: map[string]any{"certificate": ca.pem(), "token_num_uses": -1}, msg: "token_num_uses cannot be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.do(t, logical.UpdateOperation, "certs/new", tc.data)
			wantError(t, err, 400, tc.msg)
		})
	}
}

func TestLogin(t *testing.T) {
	b := newTestBackend(t)
	ca := newCA(t, "Test CA")
	otherCA := newCA(t, "Other CA")
	inter := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "Intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, &ca)
	client := newLeaf(t, &ca, "app.example.com", x509.ExtKeyUsageClientAuth, "app.example.com")
	viaInter := newLeaf(t, &inter, "deep.example.com", x509.ExtKeyUsageClientAuth)
	serverOnly := newLeaf(t, &ca, "srv.example.com", x509.ExtKeyUsageServerAuth)
	stranger := newLeaf(t, &otherCA, "app.example.com", x509.ExtKeyUsageClientAuth)
	wrongName := newLeaf(t, &ca, "app.evil.com", x509.ExtKeyUsageClientAuth)
	pinned := newLeaf(t, nil, "pinned", x509.ExtKeyUsageClientAuth)
	expired := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "old.example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
	}, &ca)

	b.must(t, logical.CreateOperation, "certs/web", map[string]any{
		"certificate": ca.pem(), "token_policies": "web", "allowed_common_names": "*.example.com",
		"display_name": "webapps", "token_ttl": "10m",
	})
	b.must(t, logical.CreateOperation, "certs/pin", map[string]any{"certificate": pinned.pem(), "token_policies": "pin"})

	tests := map[string]struct {
		chain    []*x509.Certificate
		name     string
		certName string // the role that must match; empty: expect msg
		msg      string
	}{
		"CA-signed client":            {chain: []*x509.Certificate{client.cert}, certName: "web"},
		"named role":                  {chain: []*x509.Certificate{client.cert}, name: "web", certName: "web"},
		"through an intermediate":     {chain: []*x509.Certificate{viaInter.cert, inter.cert}, certName: "web"},
		"pinned non-CA certificate":   {chain: []*x509.Certificate{pinned.cert}, certName: "pin"},
		"missing intermediate":        {chain: []*x509.Certificate{viaInter.cert}, msg: "invalid certificate or no client certificate supplied"},
		"server-auth only":            {chain: []*x509.Certificate{serverOnly.cert}, msg: "invalid certificate or no client certificate supplied"},
		"other CA":                    {chain: []*x509.Certificate{stranger.cert}, msg: "invalid certificate or no client certificate supplied"},
		"common name not allowed":     {chain: []*x509.Certificate{wrongName.cert}, msg: "invalid certificate or no client certificate supplied"},
		"expired":                     {chain: []*x509.Certificate{expired.cert}, msg: "invalid certificate or no client certificate supplied"},
		"wrong named role":            {chain: []*x509.Certificate{client.cert}, name: "pin", msg: "invalid certificate or no client certificate supplied"},
		"unknown named role":          {chain: []*x509.Certificate{client.cert}, name: "nope", msg: "invalid certificate or no client certificate supplied"},
		"no client certificate":       {msg: "client certificate must be supplied"},
		"TLS without any certificate": {chain: []*x509.Certificate{}, msg: "client certificate must be supplied"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string]any{}
			if tc.name != "" {
				data["name"] = tc.name
			}
			resp, err := b.do(t, logical.UpdateOperation, "login", data, tc.chain...)
			if tc.certName == "" {
				wantError(t, err, 400, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if got := resp.Auth.Metadata["cert_name"]; got != tc.certName {
				t.Fatalf("matched %q, want %q", got, tc.certName)
			}
		})
	}

	resp, err := b.do(t, logical.UpdateOperation, "login", nil, client.cert)
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Auth
	wantMeta := map[string]string{
		"cert_name": "web", "common_name": "app.example.com", "serial_number": client.cert.SerialNumber.String(),
		"subject_key_id": "ab:cd", "authority_key_id": hexColons(client.cert.AuthorityKeyId),
	}
	for k, v := range wantMeta {
		if a.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, a.Metadata[k], v)
		}
	}
	if a.DisplayName != "webapps" || a.Alias != "app.example.com" || !slices.Equal(a.Policies, []string{"web"}) || a.TTL != 10*time.Minute || !a.Renewable {
		t.Errorf("auth = %+v", a)
	}
	if got := b.SpecialPaths().Unauthenticated; !slices.Equal(got, []string{"login", "login/*"}) {
		t.Errorf("unauthenticated paths %v", got)
	}
}

func TestGlob(t *testing.T) {
	tests := map[string]struct {
		pattern, s string
		want       bool
	}{
		"exact":            {"a.example.com", "a.example.com", true},
		"exact mismatch":   {"a.example.com", "b.example.com", false},
		"leading star":     {"*.example.com", "x.y.example.com", true},
		"star needs tail":  {"*.example.com", "example.org", false},
		"middle star":      {"app-*.example.com", "app-1.example.com", true},
		"two stars":        {"*-*", "a-b", true},
		"only star":        {"*", "", true},
		"overlapping tail": {"a*ab", "aab", true},
		"prefix too long":  {"abc*", "ab", false},
	}
	for name, tc := range tests {
		if got := glob.Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("%s: glob(%q, %q) = %v, want %v", name, tc.pattern, tc.s, got, tc.want)
		}
	}
}
