package auth_test

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
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// testPKI is a CA with a server and a client certificate, as PEM files.
type testPKI struct {
	caPEM                 []byte
	serverCert, serverKey string
	clientCert, clientKey string
	caFile                string
	clientPair            tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name string, blockType string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return write(cn+".crt", "CERTIFICATE", der), write(cn+".key", "EC PRIVATE KEY", kder)
	}
	p := &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.caFile = write("ca.crt", "CERTIFICATE", caDER)
	p.serverCert, p.serverKey = issue(2, "server", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = issue(3, "web-client", x509.ExtKeyUsageClientAuth, nil)
	p.clientPair, err = tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCertLoginOverMutualTLS: a TLS listener asks for client certificates;
// cert auth logs the client in with the one it presented.
func TestCertLoginOverMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	s := servertest.New(t, servertest.Options{Listener: &config.Listener{
		Type: "tcp", TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey,
		TLSClientCAFile: pki.caFile, TLSMinVersion: "tls12",
	}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pki.caPEM)
	newClient := func(withCert bool) *api.Client {
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if withCert {
			tc.Certificates = []tls.Certificate{pki.clientPair}
		}
		cfg := api.DefaultConfig()
		cfg.Address = s.Addr
		cfg.MaxRetries = 0
		cfg.HttpClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
		c, err := api.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.ClearToken()
		return c
	}
	root := newClient(false)
	root.SetToken(s.RootToken)
	if err := root.Sys().EnableAuthWithOptions("cert", &api.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/cert/certs/web", map[string]any{
		"certificate": string(pki.caPEM), "allowed_common_names": "web-client", "token_policies": "default",
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := newClient(true).Logical().Write("auth/cert/login", map[string]any{"name": "web"})
	if err != nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		t.Fatalf("mTLS login: %+v %v", sec, err)
	}
	if _, err := newClient(false).Logical().Write("auth/cert/login", nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("login without a client certificate: %v; want 400", err)
	}
}
