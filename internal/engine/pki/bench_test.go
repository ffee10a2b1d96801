package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func benchIssue(b *testing.B, keyType string, bits int) {
	h := newHarness(b)
	h.write("root/generate/internal", "common_name", "Bench Root", "key_type", "ec", "ttl", "8760h")
	h.write("roles/web", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", keyType, "key_bits", bits, "ttl", "24h")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: "issue/web", Storage: h.s, Data: map[string]any{"common_name": "api.example.com"}}
		if _, err := h.b.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueECP256(b *testing.B)  { benchIssue(b, "ec", 256) }
func BenchmarkIssueRSA2048(b *testing.B) { benchIssue(b, "rsa", 2048) }

// BenchmarkBaselineStdlibIssueECP256 is the floor the engine is measured
// against: the standard library alone generating a P-256 key and signing
// a comparable leaf, with no role checks, storage or response.
func BenchmarkBaselineStdlibIssueECP256(b *testing.B) { baselineIssue(b, keySpec{"ec", 256}) }

// BenchmarkBaselineStdlibIssueRSA2048 is the same with an RSA-2048 leaf key.
func BenchmarkBaselineStdlibIssueRSA2048(b *testing.B) { baselineIssue(b, keySpec{"rsa", 2048}) }

func baselineIssue(b *testing.B, spec keySpec) {
	caKey, _ := keySpec{"ec", 256}.generate()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	ca, _ = x509.ParseCertificate(der)
	b.ReportAllocs()
	for b.Loop() {
		k, err := spec.generate()
		if err != nil {
			b.Fatal(err)
		}
		leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api.example.com"}, DNSNames: []string{"api.example.com"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		if _, err := x509.CreateCertificate(rand.Reader, leaf, ca, k.Public(), caKey); err != nil {
			b.Fatal(err)
		}
	}
}
