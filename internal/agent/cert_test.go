package agent_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// certFiles makes a CA and a server and a client certificate signed by it,
// as PEM files in dir.
type certFiles struct {
	ca, serverCert, serverKey, clientCert, clientKey string
	caPEM                                            []byte
}

func newCertFiles(t *testing.T, dir string) certFiles {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agent test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	save := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return save(cn+".crt", "CERTIFICATE", der), save(cn+".key", "EC PRIVATE KEY", kder)
	}
	f := certFiles{ca: save("ca.crt", "CERTIFICATE", caDER), caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	f.serverCert, f.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	f.clientCert, f.clientKey = leaf(3, "agent-client", x509.ExtKeyUsageClientAuth)
	return f
}

// TestAgentCertAuth: auto_auth with the cert method over mutual TLS, the
// server's CA from the vault stanza.
func TestAgentCertAuth(t *testing.T) {
	dir := t.TempDir()
	pki := newCertFiles(t, dir)
	s := servertest.New(t, servertest.Options{Listener: &config.Listener{
		Type: "tcp", TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey,
		TLSClientCAFile: pki.ca, TLSMinVersion: "tls12", MaxRequestSize: config.DefaultMaxRequestSize,
	}})
	root, err := s.Client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	cfg := root.CloneConfig()
	if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: pki.ca}); err != nil {
		t.Fatal(err)
	}
	root, _ = api.NewClient(cfg)
	root.SetToken(s.RootToken)
	if err := root.Sys().EnableAuthWithOptions("cert", &api.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/cert/certs/agent", map[string]any{
		"certificate": string(pki.caPEM), "allowed_common_names": "agent-client", "token_policies": "default",
	}); err != nil {
		t.Fatal(err)
	}
	sink := filepath.Join(dir, "token")
	code, logs, err := runAgent(t, fmt.Sprintf(`
vault {
  address = %q
  ca_cert = %q
}
auto_auth {
  method "cert" {
    config = { name = "agent", client_cert = %q, client_key = %q }
  }
  sink "file" { config = { path = %q } }
}
exit_after_auth = true
`, s.Addr, pki.ca, pki.clientCert, pki.clientKey, sink))
	if err != nil || code != 0 {
		t.Fatalf("agent = %d, %v\n%s", code, err, logs)
	}
	c, _ := root.Clone()
	c.SetToken(readFile(sink))
	if sec, err := c.Auth().Token().LookupSelf(); err != nil || sec.Data["path"] != "auth/cert/login" {
		t.Fatalf("sink token: %+v %v", sec, err)
	}
}
