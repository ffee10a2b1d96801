package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestIssueKeyTypesAndFormats(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole()
	for _, tc := range []struct {
		keyType string
		bits    int
		check   func(k any) bool
	}{
		{"ec", 256, func(k any) bool { return k.(*ecdsa.PublicKey).Curve == elliptic.P256() }},
		{"ec", 384, func(k any) bool { return k.(*ecdsa.PublicKey).Curve == elliptic.P384() }},
		{"rsa", 2048, func(k any) bool { return k.(*rsa.PublicKey).N.BitLen() == 2048 }},
		{"ed25519", 0, func(k any) bool { _, ok := k.([]byte); return !ok }},
	} {
		h.write("roles/k", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", tc.keyType, "key_bits", tc.bits)
		d := h.write("issue/k", "common_name", "a.example.com").Data
		c := cert(t, d["certificate"])
		if !tc.check(c.PublicKey) || d["private_key_type"] != tc.keyType {
			t.Errorf("%s-%d: got %T, type %v", tc.keyType, tc.bits, c.PublicKey, d["private_key_type"])
		}
		if tc.keyType != "rsa" && c.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
			t.Errorf("%s leaf has KeyEncipherment", tc.keyType)
		}
	}

	der := h.write("issue/web", "common_name", "b.example.com", "format", "der", "private_key_format", "pkcs8").Data
	raw, err := base64.StdEncoding.DecodeString(der["certificate"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(raw); err != nil {
		t.Errorf("der certificate: %v", err)
	}
	kraw, _ := base64.StdEncoding.DecodeString(der["private_key"].(string))
	if _, err := x509.ParsePKCS8PrivateKey(kraw); err != nil {
		t.Errorf("pkcs8 der key: %v", err)
	}
	bundle := h.write("issue/web", "common_name", "c.example.com", "format", "pem_bundle").Data["certificate"].(string)
	if strings.Count(bundle, "BEGIN CERTIFICATE") != 2 || !strings.Contains(bundle, "EC PRIVATE KEY") {
		t.Errorf("pem_bundle: %s", bundle)
	}
	wantErr(t, "bad format", h.writeErr("issue/web", "common_name", "d.example.com", "format", "xml"), "invalid format")
}

func TestIssueSANsAndLifetime(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole("allowed_uri_sans", "spiffe://example/*", "ttl", "1h", "max_ttl", "2h")
	d := h.write("issue/web", "common_name", "a.example.com", "alt_names", "b.example.com,ops@mail.example.com", "ip_sans", "10.0.0.1", "uri_sans", "spiffe://example/svc").Data
	c := cert(t, d["certificate"])
	if len(c.DNSNames) != 2 || len(c.EmailAddresses) != 1 || len(c.IPAddresses) != 1 || len(c.URIs) != 1 {
		t.Errorf("SANs: %v %v %v %v", c.DNSNames, c.EmailAddresses, c.IPAddresses, c.URIs)
	}
	if got := c.NotAfter.Sub(h.clock.now()); got < 59*time.Minute || got > 61*time.Minute {
		t.Errorf("role ttl not applied: %v", got)
	}
	if c.NotBefore.After(h.clock.now().Add(-29 * time.Second)) {
		t.Errorf("NotBefore not back-dated: %v", c.NotBefore)
	}
	resp := h.write("issue/web", "common_name", "a.example.com", "ttl", "5h")
	if len(resp.Warnings) == 0 || cert(t, resp.Data["certificate"]).NotAfter.Sub(h.clock.now()) > 2*time.Hour+time.Minute {
		t.Errorf("max_ttl cap: %v", resp.Warnings)
	}
	ex := h.write("issue/web", "common_name", "a.example.com", "exclude_cn_from_sans", true).Data
	if c := cert(t, ex["certificate"]); len(c.DNSNames) != 0 {
		t.Errorf("exclude_cn_from_sans: %v", c.DNSNames)
	}
	// Beyond the issuer's lifetime: err by default, truncate on request.
	h.write("roles/long", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", "ec", "max_ttl", "20000h")
	wantErr(t, "beyond CA", h.writeErr("issue/long", "common_name", "a.example.com", "ttl", "10000h"), "beyond the expiration of the CA certificate")
	h.write("issuer/default", "leaf_not_after_behavior", "truncate")
	tr := cert(t, h.write("issue/long", "common_name", "a.example.com", "ttl", "10000h").Data["certificate"])
	root := cert(t, h.read("cert/ca").Data["certificate"])
	if !tr.NotAfter.Equal(root.NotAfter) {
		t.Errorf("truncate: leaf %v, root %v", tr.NotAfter, root.NotAfter)
	}
}

func csrPEM(t *testing.T, tmpl *x509.CertificateRequest, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestSignCSRRules(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ok := csrPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}, DNSNames: []string{"b.example.com"}}, ec)
	c := cert(t, h.write("sign/web", "csr", ok).Data["certificate"])
	if len(c.DNSNames) != 2 {
		t.Errorf("CSR SANs not used: %v", c.DNSNames)
	}
	wantErr(t, "rsa key on ec role", h.writeErr("sign/web", "csr", csrPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}}, rsaKey)), "key_type")
	wantErr(t, "csr SAN outside", h.writeErr("sign/web", "csr", csrPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}, DNSNames: []string{"evil.org"}}, ec)), "evil.org")
	wantErr(t, "garbage csr", h.writeErr("sign/web", "csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), "could not be parsed")
	wantErr(t, "empty csr", h.writeErr("sign/web"), "csr")
	h.write("roles/rsa", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", "rsa", "key_bits", 3072)
	wantErr(t, "short rsa", h.writeErr("sign/rsa", "csr", csrPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}}, rsaKey)), "3072-bit")
	wantErr(t, "any on issue", func() error {
		h.write("roles/any", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", "any")
		return h.writeErr("issue/any", "common_name", "a.example.com")
	}(), "only signing")
}

func TestRoleReadListDelete(t *testing.T) {
	h := newHarness(t)
	h.write("roles/r", "allowed_domains", "a.com,b.com", "ttl", "1h")
	d := h.read("roles/r").Data
	if d["ttl"] != int64(3600) || d["allow_localhost"] != true || d["key_type"] != "rsa" || d["key_bits"] != float64(2048) && d["key_bits"] != 2048 {
		t.Errorf("role defaults: %v", d)
	}
	if len(d["allowed_domains"].([]any)) != 2 {
		t.Errorf("allowed_domains: %v", d["allowed_domains"])
	}
	list, _ := h.do(logical.ListOperation, "roles/", nil)
	if list == nil || len(list.Data["keys"].([]string)) != 1 {
		t.Errorf("list: %v", list)
	}
	wantErr(t, "ttl > max_ttl", h.writeErr("roles/bad", "ttl", "2h", "max_ttl", "1h"), "max_ttl")
	wantErr(t, "bad key type", h.writeErr("roles/bad", "key_type", "dsa"), "unknown key type")
	wantErr(t, "bad usage", h.writeErr("roles/bad", "key_usage", "Teleport"), "unknown key usage")
	if _, err := h.do(logical.DeleteOperation, "roles/r", nil); err != nil {
		t.Fatal(err)
	}
	if r := h.read("roles/r"); r != nil {
		t.Errorf("deleted role still there: %v", r.Data)
	}
}
