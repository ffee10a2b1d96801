package cert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

type testBackend struct {
	*Backend
	store *inmem.Store
}

func newTestBackend(t testing.TB) *testBackend {
	t.Helper()
	store := inmem.New()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: store})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return &testBackend{Backend: lb.(*Backend), store: store}
}

func (tb *testBackend) do(t testing.TB, op logical.Operation, path string, data map[string]any, chain ...*x509.Certificate) (*logical.Response, error) {
	t.Helper()
	conn := &logical.Connection{RemoteAddr: "127.0.0.1:1"}
	if chain != nil {
		conn.TLS = &tls.ConnectionState{PeerCertificates: chain}
	}
	return tb.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: tb.store, Connection: conn,
	})
}

func (tb *testBackend) must(t testing.TB, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := tb.do(t, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func wantError(t testing.TB, err error, status int, text string) {
	t.Helper()
	e, ok := logical.AsError(err)
	if !ok {
		t.Fatalf("got error %v (%T), want a *logical.Error %d %q", err, err, status, text)
	}
	if e.Status() != status || e.Error() != text {
		t.Fatalf("got %d %q, want %d %q", e.Status(), e.Error(), status, text)
	}
}

// issued is a test certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func (i issued) pem() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.cert.Raw}))
}

var serial int64 = 1000

// issue makes a certificate from tmpl, signed by parent (self-signed when
// parent is nil).
func issue(t testing.TB, tmpl *x509.Certificate, parent *issued) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{cert: c, key: key}
}

func newCA(t testing.TB, cn string) issued {
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
}

func newLeaf(t testing.TB, ca *issued, cn string, usage x509.ExtKeyUsage, dns ...string) issued {
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"ops"}}, DNSNames: dns,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		SubjectKeyId: []byte{0xab, 0xcd},
	}, ca)
}
