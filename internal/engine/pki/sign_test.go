package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// TestCreateCertificate: for ECDSA issuers of every curve and signature
// hash, createCertificate's certificate has exactly the TBSCertificate and
// signature algorithm x509.CreateCertificate writes for the same template,
// parses, and its signature verifies under the issuer's key; other signers
// go through x509.CreateCertificate.
func TestCreateCertificate(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name  string
		curve elliptic.Curve
		alg   x509.SignatureAlgorithm
	}{
		{"P-256 default", elliptic.P256(), 0},
		{"P-256 SHA-384", elliptic.P256(), x509.ECDSAWithSHA384},
		{"P-384 default", elliptic.P384(), 0},
		{"P-521 default", elliptic.P521(), 0},
		{"P-521 SHA-256", elliptic.P521(), x509.ECDSAWithSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caKey, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"}, NotBefore: now, NotAfter: now.Add(time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: []byte{1, 2, 3}}
			caDER, err := createCertificate(caTmpl, caTmpl, caKey.Public(), caKey)
			if err != nil {
				t.Fatal(err)
			}
			ca, err := x509.ParseCertificate(caDER)
			if err != nil {
				t.Fatal(err)
			}
			if err := ca.CheckSignatureFrom(ca); err != nil {
				t.Fatalf("self-signed root: %v", err)
			}
			leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234567890), Subject: pkix.Name{CommonName: "api.example.com"},
				DNSNames: []string{"api.example.com"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
				NotBefore: now, NotAfter: now.Add(time.Hour), SignatureAlgorithm: tc.alg,
				KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			got, err := createCertificate(tmpl, ca, leafKey.Public(), caKey)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.CreateCertificate(rand.Reader, tmpl, ca, leafKey.Public(), caKey)
			if err != nil {
				t.Fatal(err)
			}
			g, err := x509.ParseCertificate(got)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := x509.ParseCertificate(want)
			if !bytes.Equal(g.RawTBSCertificate, w.RawTBSCertificate) {
				t.Error("TBSCertificate differs from x509.CreateCertificate's")
			}
			if g.SignatureAlgorithm != w.SignatureAlgorithm {
				t.Errorf("signature algorithm %v, want %v", g.SignatureAlgorithm, w.SignatureAlgorithm)
			}
			if err := g.CheckSignatureFrom(ca); err != nil {
				t.Errorf("signature: %v", err)
			}
			if _, err := g.Verify(x509.VerifyOptions{Roots: certPoolOf(ca), CurrentTime: now.Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("chain: %v", err)
			}
		})
	}
	t.Run("errors pass through", func(t *testing.T) {
		caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"}, NotBefore: now, NotAfter: now.Add(time.Hour), PublicKey: other.Public()}
		leaf := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now, NotAfter: now.Add(time.Hour)}
		if _, err := createCertificate(leaf, ca, caKey.Public(), caKey); err == nil {
			t.Error("a key that does not match the parent's public key signed")
		}
		leaf.SignatureAlgorithm = x509.SHA256WithRSA
		if _, err := createCertificate(leaf, leaf, caKey.Public(), caKey); err == nil {
			t.Error("an RSA signature algorithm with an ECDSA key signed")
		}
	})
	t.Run("other signers", func(t *testing.T) {
		_, edKey, _ := ed25519.GenerateKey(rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "ed"}, NotBefore: now, NotAfter: now.Add(time.Hour)}
		der, err := createCertificate(tmpl, tmpl, edKey.Public(), crypto.Signer(edKey))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			t.Error(err)
		}
	})
}

func certPoolOf(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}
