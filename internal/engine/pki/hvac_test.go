package pki_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// TestHvacPKI runs devstack's PKI flow with python3-hvac
// (testdata/hvac_pki.py); TRESOR_REQUIRE=hvac makes a missing hvac fail.
func TestHvacPKI(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import hvac").Run(); err != nil {
		testenv.Missing(t, "hvac", "python3-hvac is not installed (apt-get install python3-hvac): %v", err)
	}
	s := servertest.New(t, servertest.Options{})
	if err := s.Client.Sys().Mount("pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/hvac_pki.py")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+s.Addr, "VAULT_TOKEN="+s.RootToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hvac: %v\n%s", err, out)
	}
}
