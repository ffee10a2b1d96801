package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestEndToEnd drives a real in-process server through its life with the
// CLI alone: init, unseal, login, read and write, seal.
func TestEndToEnd(t *testing.T) {
	srv := servertest.New(t, servertest.Options{Uninitialized: true})
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": srv.Addr}
	run := func(wantCode int, stdin string, args ...string) result {
		t.Helper()
		r := runCLI(t, home, vars, stdin, args...)
		if r.code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}

	run(2, "", "operator", "init", "-status")
	r := run(0, "", "operator", "init", "-key-shares=5", "-key-threshold=3", "-format=json")
	var init initOutput
	if err := json.Unmarshal([]byte(r.stdout), &init); err != nil {
		t.Fatalf("init output: %v\n%s", err, r.stdout)
	}
	if len(init.UnsealKeysB64) != 5 || init.UnsealThreshold != 3 || init.RootToken == "" {
		t.Fatalf("init output %+v", init)
	}

	r = run(2, "", "status")
	if !strings.Contains(r.stdout, "Unseal Progress    0/3") {
		t.Errorf("sealed status:\n%s", r.stdout)
	}
	run(0, "", "operator", "unseal", init.UnsealKeysB64[0])
	run(0, init.UnsealKeysB64[1]+"\n", "operator", "unseal") // piped, as from a prompt
	run(0, "", "operator", "unseal", init.UnsealKeysB64[2])

	r = run(0, "", "status", "-format=json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	if st["sealed"] != false || st["initialized"] != true || st["t"] != 3.0 || st["n"] != 5.0 {
		t.Errorf("status json %v", st)
	}

	// No token yet: denied. Then log in and the token file takes over.
	run(2, "", "read", "auth/token/lookup-self")
	run(0, "", "login", "-no-print", init.RootToken)
	r = run(0, "", "read", "-field=id", "auth/token/lookup-self")
	if r.stdout != init.RootToken {
		t.Errorf("lookup-self id = %q, want the root token", r.stdout)
	}
	r = run(0, "", "read", "-format=json", "auth/token/lookup-self")
	if !strings.Contains(r.stdout, `"policies": [`) {
		t.Errorf("lookup-self json:\n%s", r.stdout)
	}

	run(0, "", "write", "cubbyhole/app", "user=ann", "pw=-")
	r = run(0, "", "read", "-field=user", "cubbyhole/app")
	if r.stdout != "ann" {
		t.Errorf("cubbyhole read = %q, want ann", r.stdout)
	}
	r = run(0, "", "list", "cubbyhole/")
	if r.stdout != "Keys\n----\napp\n" {
		t.Errorf("list:\n%s", r.stdout)
	}
	run(0, "", "delete", "cubbyhole/app")
	run(2, "", "read", "cubbyhole/app")

	run(0, "", "operator", "seal")
	run(2, "", "status")
}
