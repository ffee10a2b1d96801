package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func parsePEM(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode([]byte(text))
	if blk == nil {
		t.Fatalf("no PEM in %q", text)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// devstack mounts pki the way devstack-core does and makes its root and
// the reference-api role.
func devstack(t *testing.T) (*servertest.Server, *api.Logical) {
	t.Helper()
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().Mount("pki", &api.MountInput{Type: "pki"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().TuneMount("pki", api.MountConfigInput{MaxLeaseTTL: "87600h"}); err != nil {
		t.Fatal(err)
	}
	l := c.Logical()
	if _, err := l.Write("pki/root/generate/internal", map[string]any{"common_name": "devstack Root CA", "ttl": "87600h", "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write("pki/roles/reference-api", map[string]any{
		"allowed_domains": "devstack.local", "allow_subdomains": true, "max_ttl": "720h", "key_type": "ec",
	}); err != nil {
		t.Fatal(err)
	}
	return s, l
}

// TestDevstackFlow is the seed's flow: issue api.devstack.local under the
// reference-api role, fetch the CA, verify the chain with crypto/x509 and
// with openssl.
func TestDevstackFlow(t *testing.T) {
	s, l := devstack(t)
	sec, err := l.Write("pki/issue/reference-api", map[string]any{"common_name": "api.devstack.local", "ttl": "24h"})
	if err != nil {
		t.Fatal(err)
	}
	d := sec.Data
	for _, k := range []string{"certificate", "issuing_ca", "ca_chain", "private_key", "private_key_type", "serial_number", "not_before", "expiration"} {
		if d[k] == nil {
			t.Errorf("issue response lacks %s", k)
		}
	}
	if d["private_key_type"] != "ec" {
		t.Errorf("private_key_type = %v", d["private_key_type"])
	}
	leaf := parsePEM(t, d["certificate"].(string))
	if leaf.Subject.CommonName != "api.devstack.local" || !slices.Contains(leaf.DNSNames, "api.devstack.local") {
		t.Errorf("leaf names: %v %v", leaf.Subject, leaf.DNSNames)
	}
	if got := time.Until(leaf.NotAfter); got < 23*time.Hour || got > 25*time.Hour {
		t.Errorf("leaf lifetime %v", got)
	}
	// OpenBao's issue answer carries the validity start beside the end.
	if nb, exp := mustInt(t, d["not_before"]), mustInt(t, d["expiration"]); nb != leaf.NotBefore.Unix() || exp != leaf.NotAfter.Unix() {
		t.Errorf("not_before %d, expiration %d; certificate %v to %v", nb, exp, leaf.NotBefore, leaf.NotAfter)
	}

	// cert/ca as the reference-api policy reads it, and the raw endpoints.
	caSec, err := l.Read("pki/cert/ca")
	if err != nil {
		t.Fatal(err)
	}
	ca := parsePEM(t, caSec.Data["certificate"].(string))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "api.devstack.local", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("crypto/x509 rejects the chain: %v", err)
	}
	resp, err := http.Get(s.Addr + "/v1/pki/ca/pem")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || parsePEM(t, string(body)).SerialNumber.Cmp(ca.SerialNumber) != 0 {
		t.Errorf("ca/pem (no token): %d %q", resp.StatusCode, body)
	}

	// The stored certificate is listed and readable by serial.
	list, err := l.List("pki/certs")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(list.Data["keys"].([]any), any(d["serial_number"])) {
		t.Errorf("certs LIST lacks %v: %v", d["serial_number"], list.Data["keys"])
	}
	got, err := l.Read("pki/cert/" + d["serial_number"].(string))
	if err != nil || got.Data["certificate"] != d["certificate"] {
		t.Errorf("cert/<serial>: %v %v", got, err)
	}

	opensslVerify(t, caSec.Data["certificate"].(string), d["certificate"].(string), "")
}

// opensslVerify checks leaf against root (and an untrusted intermediate)
// with the openssl binary; it skips when openssl is missing.
func opensslVerify(t *testing.T, root, leaf, intermediate string) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl", "openssl is not installed (apt-get install openssl)")
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"verify", "-CAfile", write("root.pem", root)}
	if intermediate != "" {
		args = append(args, "-untrusted", write("int.pem", intermediate))
	}
	args = append(args, write("leaf.pem", leaf))
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

func TestRoleRulesAnswer400NamingTheRule(t *testing.T) {
	_, l := devstack(t)
	cases := map[string]struct {
		data map[string]any
		want string
	}{
		"other domain":   {map[string]any{"common_name": "api.example.com"}, "allowed_domains"},
		"bare domain":    {map[string]any{"common_name": "devstack.local"}, "allow_bare_domains=false"},
		"bad alt name":   {map[string]any{"common_name": "a.devstack.local", "alt_names": "evil.com"}, "subject alternate name evil.com not allowed"},
		"not a hostname": {map[string]any{"common_name": "bad_name.devstack.local"}, "enforce_hostnames"},
		"no cn":          {map[string]any{}, "require_cn"},
		"bad ip":         {map[string]any{"common_name": "a.devstack.local", "ip_sans": "300.1.1.1"}, "not a valid IP"},
		"uri not listed": {map[string]any{"common_name": "a.devstack.local", "uri_sans": "spiffe://x/y"}, "allowed_uri_sans"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := l.Write("pki/issue/reference-api", tc.data)
			if statusOf(err) != 400 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want 400 naming %q", err, tc.want)
			}
		})
	}
	if _, err := l.Write("pki/issue/nope", map[string]any{"common_name": "a.devstack.local"}); statusOf(err) != 400 {
		t.Errorf("unknown role: %v", err)
	}
	// Capped at the role's max_ttl with a warning.
	sec, err := l.Write("pki/issue/reference-api", map[string]any{"common_name": "a.devstack.local", "ttl": "2000h"})
	if err != nil || len(sec.Warnings) == 0 {
		t.Fatalf("ttl beyond max_ttl: %v %v", sec, err)
	}
	if exp := time.Unix(int64(mustInt(t, sec.Data["expiration"])), 0); time.Until(exp) > 721*time.Hour {
		t.Errorf("not capped: expires %v", exp)
	}
}

func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case float64:
		return int64(n)
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}

func TestSignRevokeCRL(t *testing.T) {
	s, l := devstack(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "db.devstack.local"}, DNSNames: []string{"db.devstack.local"}}, key)
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	sec, err := l.Write("pki/sign/reference-api", map[string]any{"csr": csr})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Data["private_key"] != nil {
		t.Error("sign/ returned a private key")
	}
	signed := parsePEM(t, sec.Data["certificate"].(string))
	if signed.Subject.CommonName != "db.devstack.local" || !signed.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Errorf("signed cert: %v", signed.Subject)
	}
	bad, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "db.example.org"}}, key)
	if _, err := l.Write("pki/sign/reference-api", map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: bad}))}); statusOf(err) != 400 {
		t.Errorf("CSR outside the role: %v", err)
	}
	v, err := l.Write("pki/sign-verbatim", map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: bad})), "ttl": "1h"})
	if err != nil || parsePEM(t, v.Data["certificate"].(string)).Subject.CommonName != "db.example.org" {
		t.Errorf("sign-verbatim: %v %v", v, err)
	}

	serial := sec.Data["serial_number"].(string)
	rev, err := l.Write("pki/revoke", map[string]any{"serial_number": serial})
	if err != nil || rev.Data["revocation_time"] == nil {
		t.Fatalf("revoke: %v %v", rev, err)
	}
	resp, err := http.Get(s.Addr + "/v1/pki/crl")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("crl: %v", err)
	}
	caSec, _ := l.Read("pki/cert/ca")
	if err := crl.CheckSignatureFrom(parsePEM(t, caSec.Data["certificate"].(string))); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(signed.SerialNumber) != 0 {
		t.Errorf("CRL entries: %+v", crl.RevokedCertificateEntries)
	}
	got, _ := l.Read("pki/cert/" + serial)
	if mustInt(t, got.Data["revocation_time"]) == 0 {
		t.Error("cert/<serial> shows no revocation time")
	}
	if _, err := l.Write("pki/crl/rotate", nil); err != nil {
		t.Fatal(err)
	}
	resp, _ = http.Get(s.Addr + "/v1/pki/crl/pem")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	blk, _ := pem.Decode(body)
	if blk == nil || blk.Type != "X509 CRL" {
		t.Fatalf("crl/pem: %q", body)
	}
	rotated, _ := x509.ParseRevocationList(blk.Bytes)
	if rotated.Number.Cmp(crl.Number) <= 0 || len(rotated.RevokedCertificateEntries) != 1 {
		t.Errorf("rotated CRL number %v (was %v), %d entries", rotated.Number, crl.Number, len(rotated.RevokedCertificateEntries))
	}
	if _, err := l.Write("pki/revoke", map[string]any{"serial_number": "aa:bb"}); statusOf(err) != 400 {
		t.Errorf("revoke unknown serial: %v", err)
	}
}

// TestIntermediateChain: an intermediate signed by the root issues leaf
// certificates that chain to the root (crypto/x509 and openssl).
func TestIntermediateChain(t *testing.T) {
	s, l := devstack(t)
	c := s.Client
	if err := c.Sys().Mount("pki_int", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "43800h"}}); err != nil {
		t.Fatal(err)
	}
	gen, err := l.Write("pki_int/intermediate/generate/internal", map[string]any{"common_name": "devstack Intermediate", "key_type": "ec"})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := l.Write("pki/root/sign-intermediate", map[string]any{"csr": gen.Data["csr"], "common_name": "devstack Intermediate", "ttl": "43800h"})
	if err != nil {
		t.Fatal(err)
	}
	set, err := l.Write("pki_int/intermediate/set-signed", map[string]any{"certificate": signed.Data["certificate"]})
	if err != nil || len(set.Data["imported_issuers"].([]any)) != 1 {
		t.Fatalf("set-signed: %v %v", set, err)
	}
	if _, err := l.Write("pki_int/roles/svc", map[string]any{"allowed_domains": "devstack.local", "allow_subdomains": true, "key_type": "rsa", "key_bits": 2048}); err != nil {
		t.Fatal(err)
	}
	leafSec, err := l.Write("pki_int/issue/svc", map[string]any{"common_name": "web.devstack.local", "ttl": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	chain := leafSec.Data["ca_chain"].([]any)
	if len(chain) != 1 {
		t.Logf("ca_chain has %d entries (the root is in another mount)", len(chain))
	}
	rootSec, _ := l.Read("pki/cert/ca")
	rootPEM := rootSec.Data["certificate"].(string)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(parsePEM(t, rootPEM))
	inters.AddCert(parsePEM(t, signed.Data["certificate"].(string)))
	leaf := parsePEM(t, leafSec.Data["certificate"].(string))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: "web.devstack.local"}); err != nil {
		t.Fatalf("leaf does not chain to the root: %v", err)
	}
	opensslVerify(t, rootPEM, leafSec.Data["certificate"].(string), signed.Data["certificate"].(string))

	// Issuers and keys of the intermediate mount, with a default.
	iss, err := l.List("pki_int/issuers")
	if err != nil || len(iss.Data["keys"].([]any)) != 1 {
		t.Fatalf("issuers: %v %v", iss, err)
	}
	def, err := l.Read("pki_int/config/issuers")
	if err != nil || def.Data["default"] != iss.Data["keys"].([]any)[0] {
		t.Errorf("default issuer: %v %v", def, err)
	}
	if keys, err := l.List("pki_int/keys"); err != nil || len(keys.Data["keys"].([]any)) != 1 {
		t.Errorf("keys: %v %v", keys, err)
	}
}

// End to end through HTTP, the core and the client.
func benchHTTPIssue(b *testing.B, keyType string, bits int) {
	s := servertest.New(b, servertest.Options{})
	c := s.Client
	if err := c.Sys().Mount("pki", &api.MountInput{Type: "pki"}); err != nil {
		b.Fatal(err)
	}
	l := c.Logical()
	if _, err := l.Write("pki/root/generate/internal", map[string]any{"common_name": "Bench Root", "key_type": "ec", "ttl": "700h"}); err != nil {
		b.Fatal(err)
	}
	if _, err := l.Write("pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": keyType, "key_bits": bits, "ttl": "24h"}); err != nil {
		b.Fatal(err)
	}
	body := map[string]any{"common_name": "api.example.com"}
	for b.Loop() {
		if _, err := l.Write("pki/issue/web", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTTPIssueECP256(b *testing.B)  { benchHTTPIssue(b, "ec", 256) }
func BenchmarkHTTPIssueRSA2048(b *testing.B) { benchHTTPIssue(b, "rsa", 2048) }

// TestUnauthenticatedPaths: the CA and CRL are public, as in Vault, but
// nothing that changes state is.
func TestUnauthenticatedPaths(t *testing.T) {
	s, l := devstack(t)
	sec, err := l.Write("pki/issue/reference-api", map[string]any{"common_name": "api.devstack.local"})
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := l.List("pki/issuers")
	id := iss.Data["keys"].([]any)[0].(string)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "ca", 200}, {"GET", "ca/pem", 200}, {"GET", "ca_chain", 200}, {"GET", "crl", 200}, {"GET", "crl/pem", 200},
		{"GET", "cert/ca", 200}, {"GET", "cert/" + sec.Data["serial_number"].(string), 200},
		{"POST", "issuer/" + id, 403}, {"DELETE", "issuer/" + id, 403}, {"POST", "crl/rotate", 403},
		{"POST", "issue/reference-api", 403}, {"POST", "revoke", 403}, {"POST", "roles/x", 403}, {"POST", "tidy", 403},
	} {
		req, _ := http.NewRequest(tc.method, s.Addr+"/v1/pki/"+tc.path, strings.NewReader(`{"common_name":"x.devstack.local"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s without a token: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}
