package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// TestNodeVault drives a server with the node-vault npm client
// (testdata/node; CI installs it with `npm install --no-package-lock`).
func TestNodeVault(t *testing.T) {
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-vault")); err != nil {
		testenv.Missing(t, "node", "node-vault is not installed: run `npm install --no-package-lock` in internal/server/testdata/node")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node", "node is not installed (apt-get install nodejs npm)")
	}
	s := servertest.New(t, servertest.Options{})
	cmd := exec.Command(node, "node_vault.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+s.Addr, "VAULT_TOKEN="+s.RootToken)
	out, err := cmd.CombinedOutput()
	t.Logf("node-vault: %s", out)
	if err != nil {
		t.Fatalf("node-vault workflow failed: %v", err)
	}
}
