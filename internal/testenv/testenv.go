// Package testenv decides what a test does when a real component it needs
// (python3-hvac, PostgreSQL, node-vault, MariaDB, Chromium…) is missing.
//
// On a developer's laptop the test skips with a message saying what to
// install. In CI it must not: .ci/run sets TRESOR_REQUIRE to a comma list of
// the components it installed (for example "hvac,postgres,node"), and a test
// whose component is named there fails instead of skipping, so a broken
// install cannot turn the suite green.
//
//	if err := exec.Command(python3, "-c", "import hvac").Run(); err != nil {
//		testenv.Missing(t, "hvac", "python3-hvac is not installed (apt-get install python3-hvac): %v", err)
//	}
package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Var is the environment variable listing the components that must be
// present.
const Var = "TRESOR_REQUIRE"

// Required reports whether TRESOR_REQUIRE names component (case-insensitive;
// spaces around names are ignored).
func Required(component string) bool {
	for _, name := range strings.Split(os.Getenv(Var), ",") {
		if strings.EqualFold(strings.TrimSpace(name), component) {
			return true
		}
	}
	return false
}

// Missing ends t because component is not available: it fails t when
// TRESOR_REQUIRE names component, and skips it otherwise. The message says
// why the component is missing and how to get it.
func Missing(t testing.TB, component, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required(component) {
		t.Fatalf("%s names %q, but it is missing: %s", Var, component, msg)
		return
	}
	t.Skipf("%s (set %s=%s to make this a failure)", msg, Var, component)
}
