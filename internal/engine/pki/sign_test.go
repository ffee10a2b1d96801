package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
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

// TestMarshalECPrivateKey: the hand-written SEC 1 encoding is byte for byte
// x509.MarshalECPrivateKey's, for every curve and for scalars with leading
// zero bytes (padded to the curve's size), and the subject key ID of an EC
// key is the SHA-1 of its SubjectPublicKeyInfo's key bits.
func TestMarshalECPrivateKey(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		for i := 0; i < 64; i++ {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalECPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s key %d: %x, want %x", curve.Params().Name, i, got, want)
			}
			spki, _ := x509.MarshalPKIXPublicKey(k.Public())
			var info struct {
				Algorithm pkix.AlgorithmIdentifier
				PublicKey asn1.BitString
			}
			if _, err := asn1.Unmarshal(spki, &info); err != nil {
				t.Fatal(err)
			}
			wantID := sha1.Sum(info.PublicKey.Bytes)
			if id, err := subjectKeyID(k.Public()); err != nil || !bytes.Equal(id, wantID[:]) {
				t.Fatalf("%s subject key ID %x, %v; want %x", curve.Params().Name, id, err, wantID)
			}
		}
	}
}

// TestSerialText: serials read as lower-case, colon-separated hex pairs of
// their big-endian bytes, as fmt's %02x of each byte writes them.
func TestSerialText(t *testing.T) {
	ref := func(n *big.Int, sep string) string {
		var parts []string
		for _, c := range n.Bytes() {
			parts = append(parts, fmt.Sprintf("%02x", c))
		}
		return strings.Join(parts, sep)
	}
	huge := new(big.Int).Lsh(big.NewInt(0xabcdef), 300)
	for _, n := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(255), big.NewInt(256), big.NewInt(0x0a0b0c),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 159), big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 255), huge} {
		if got, want := serialText(n), ref(n, ":"); got != want {
			t.Errorf("serialText(%x) = %q, want %q", n, got, want)
		}
		if got, want := storageSerialOf(n), ref(n, "-"); got != want {
			t.Errorf("storageSerialOf(%x) = %q, want %q", n, got, want)
		}
	}
}

// TestPEMText: pemText writes exactly what pem.EncodeToMemory writes, for
// every length around the 48-byte line boundary and beyond.
func TestPEMText(t *testing.T) {
	buf := make([]byte, 1100)
	rand.Read(buf)
	for n := 0; n <= len(buf); n++ {
		for _, typ := range []string{"CERTIFICATE", "EC PRIVATE KEY"} {
			want := string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: buf[:n]}))
			if got := pemText(typ, buf[:n]); got != want {
				t.Fatalf("%s, %d bytes:\n%s\nwant\n%s", typ, n, got, want)
			}
		}
	}
	if a := testing.AllocsPerRun(10, func() { pemText("CERTIFICATE", buf[:700]) }); a != 1 {
		t.Errorf("%v allocations, want 1 (the text)", a)
	}
}

// TestTBSSignerSign: called through Sign (with a digest), the signer is
// the issuer key, so a CreateCertificate that did so would still make a
// valid certificate.
func TestTBSSignerSign(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := &tbsSigner{key: key}
	digest := sha256.Sum256([]byte("tbs"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
		t.Fatalf("Sign: %v", err)
	}
	if s.tbs != nil {
		t.Error("Sign kept a TBSCertificate")
	}
}
