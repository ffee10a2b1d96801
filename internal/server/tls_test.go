package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	file string // the CA certificate as a PEM file
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	file := filepath.Join(t.TempDir(), name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pool: pool, file: file}
}

// issue returns a leaf certificate for usage, and its PEM certificate and
// key files.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (pair tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

// startTLSProc starts a server process whose only listener is TLS with the
// given extra listener settings.
func startTLSProc(t *testing.T, ca *testCA, listenerExtra string) *proc {
	t.Helper()
	_, certFile, keyFile := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	p := newProc(t)
	conf := fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address       = %q
  tls_cert_file = %q
  tls_key_file  = %q
%s
}
disable_mlock = true
`, p.dataDir, p.addr, certFile, keyFile, listenerExtra)
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start() // a TLS listener answers a plain HTTP probe with a 400: up
	return p
}

// tlsGet makes one HTTPS request to sys/health with client settings.
func tlsGet(p *proc, cfg *tls.Config) error {
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("https://" + p.addr + "/v1/sys/health")
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		p.t.Fatalf("cannot reach the server at all: %v", err) // not a TLS refusal
	}
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// TestTLSListenerVersions: tls_min_version and tls_max_version bound the
// versions a real handshake can agree on.
func TestTLSListenerVersions(t *testing.T) {
	ca := newTestCA(t, "versions-ca")
	tests := []struct {
		name     string
		listener string
		client   [2]uint16 // min and max version the client offers
		ok       bool
	}{
		{"min tls13 refuses a TLS 1.2 client", `tls_min_version = "tls13"`, [2]uint16{tls.VersionTLS12, tls.VersionTLS12}, false},
		{"min tls13 accepts a TLS 1.3 client", `tls_min_version = "tls13"`, [2]uint16{tls.VersionTLS13, tls.VersionTLS13}, true},
		{"max tls12 refuses a TLS 1.3-only client", `tls_max_version = "tls12"`, [2]uint16{tls.VersionTLS13, tls.VersionTLS13}, false},
		{"max tls12 accepts a TLS 1.2 client", `tls_max_version = "tls12"`, [2]uint16{tls.VersionTLS12, tls.VersionTLS13}, true},
		{"default refuses a TLS 1.1 client", ``, [2]uint16{tls.VersionTLS10, tls.VersionTLS11}, false},
		{"default accepts a TLS 1.2 client", ``, [2]uint16{tls.VersionTLS12, tls.VersionTLS12}, true},
	}
	procs := map[string]*proc{} // one server per listener setting, for the whole test
	for _, tt := range tests {
		if procs[tt.listener] == nil {
			procs[tt.listener] = startTLSProc(t, ca, tt.listener)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := procs[tt.listener]
			var got uint16
			err := tlsGet(p, &tls.Config{
				RootCAs: ca.pool, MinVersion: tt.client[0], MaxVersion: tt.client[1],
				VerifyConnection: func(cs tls.ConnectionState) error { got = cs.Version; return nil },
			})
			if tt.ok && err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("handshake succeeded with %s, want it refused", tls.VersionName(got))
			}
		})
	}
}

// TestTLSRequiredClientCertificates: with tls_require_and_verify_client_cert
// the handshake fails without a client certificate or with one from an
// unknown CA, and succeeds with one signed by tls_client_ca_file.
func TestTLSRequiredClientCertificates(t *testing.T) {
	ca := newTestCA(t, "clients-ca")
	stranger := newTestCA(t, "stranger-ca")
	p := startTLSProc(t, ca, fmt.Sprintf(`
  tls_client_ca_file                 = %q
  tls_require_and_verify_client_cert = true
`, ca.file))
	good, _, _ := ca.issue(t, "client", x509.ExtKeyUsageClientAuth)
	bad, _, _ := stranger.issue(t, "client", x509.ExtKeyUsageClientAuth)
	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no client certificate", nil, false},
		{"certificate from an unknown CA", []tls.Certificate{bad}, false},
		{"certificate from tls_client_ca_file", []tls.Certificate{good}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				err := tlsGet(p, &tls.Config{RootCAs: ca.pool, Certificates: tt.certs, MinVersion: v, MaxVersion: v})
				if tt.ok && err != nil {
					t.Fatalf("%s: request failed: %v", tls.VersionName(v), err)
				}
				if !tt.ok && err == nil {
					t.Fatalf("%s: request succeeded, want the handshake refused", tls.VersionName(v))
				}
			}
		})
	}
}
