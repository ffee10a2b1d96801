package transit_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// requireHvac skips unless python3-hvac is installed; TRESOR_REQUIRE=hvac
// turns the skip into a failure.
func requireHvac(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import hvac").Run(); err != nil {
		testenv.Missing(t, "hvac", "python3-hvac is not installed (apt-get install python3-hvac): %v", err)
	}
}

// TestHvacTransit drives transit with python3-hvac (testdata/hvac_transit.py).
func TestHvacTransit(t *testing.T) {
	requireHvac(t)
	s := servertest.New(t, servertest.Options{})
	if err := s.Client.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/hvac_transit.py")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+s.Addr, "VAULT_TOKEN="+s.RootToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hvac: %v\n%s", err, out)
	}
}
