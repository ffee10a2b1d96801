package cli

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestDevstackPKIAndTransitThroughCLI runs devstack's PKI flow and a
// transit round trip with the CLI alone, as the seed's operators type them.
func TestDevstackPKIAndTransitThroughCLI(t *testing.T) {
	srv := servertest.New(t, servertest.Options{})
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken}
	run := func(args ...string) string {
		t.Helper()
		r := runCLI(t, home, vars, "", args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	run("secrets", "enable", "pki")
	run("secrets", "tune", "-max-lease-ttl=87600h", "pki")
	run("write", "pki/root/generate/internal", "common_name=devstack Root CA", "ttl=87600h")
	run("write", "pki/roles/reference-api", "allowed_domains=devstack.local", "allow_subdomains=true", "max_ttl=72h")
	var issued struct {
		Data struct {
			Certificate string   `json:"certificate"`
			CAChain     []string `json:"ca_chain"`
			PrivateKey  string   `json:"private_key"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(run("write", "-format=json", "pki/issue/reference-api", "common_name=api.devstack.local", "ttl=24h")), &issued); err != nil {
		t.Fatal(err)
	}
	caPEM := run("read", "-field=certificate", "pki/cert/ca")
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatalf("cert/ca: %q", caPEM)
	}
	blk, _ := pem.Decode([]byte(issued.Data.Certificate))
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "api.devstack.local"}); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
	if issued.Data.PrivateKey == "" || len(issued.Data.CAChain) != 1 {
		t.Errorf("issue output: %+v", issued.Data)
	}
	r := runCLI(t, home, vars, "", "write", "pki/issue/reference-api", "common_name=api.example.com")
	if r.code != 2 || !strings.Contains(r.stderr, "not allowed by this role") {
		t.Errorf("outside the role: exit %d, %s", r.code, r.stderr)
	}

	run("secrets", "enable", "transit")
	run("write", "-force", "transit/keys/app")
	pt := base64.StdEncoding.EncodeToString([]byte("card 4111"))
	ct := run("write", "-field=ciphertext", "transit/encrypt/app", "plaintext="+pt)
	if !strings.HasPrefix(ct, "vault:v1:") {
		t.Fatalf("ciphertext %q", ct)
	}
	if got := run("write", "-field=plaintext", "transit/decrypt/app", "ciphertext="+ct); got != pt {
		t.Errorf("decrypt = %q, want %q", got, pt)
	}
	run("write", "-force", "transit/keys/app/rotate")
	if got := run("write", "-field=ciphertext", "transit/rewrap/app", "ciphertext="+ct); !strings.HasPrefix(got, "vault:v2:") {
		t.Errorf("rewrap = %q", got)
	}
}
