package cli

import (
	"path/filepath"
	"testing"
)

// TestAuthWalkthrough enables userpass and approle and logs in with each.
// A failure to enable either fails the test.
func TestAuthWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("bcrypt is slow under the race detector")
	}
	r, _ := newCLIRunner(t)
	res := r.run(0, "", "auth", "enable", "userpass")
	wantOutput(t, "auth enable", res.stdout, "Success! Enabled userpass auth method at: userpass/\n")
	res = r.run(0, "", "auth", "list")
	wantContains(t, "auth list", res.stdout, "token/ ", "userpass/ ")
	r.run(0, "", "write", "auth/userpass/users/alice", "password=s3cret", "token_policies=default")
	res = r.run(0, "", "auth", "tune", "-max-lease-ttl=2h", "userpass")
	wantOutput(t, "auth tune", res.stdout, "Success! Tuned the auth method at: userpass/\n")

	// Log in without VAULT_TOKEN: the token goes to the token file.
	anon := &cliRunner{t: t, home: r.home, vars: map[string]string{"VAULT_ADDR": r.vars["VAULT_ADDR"]}}
	anon.run(0, "s3cret\n", "login", "-method=userpass", "-no-print", "username=alice")
	res = anon.run(0, "", "token", "lookup", "-format=json")
	wantContains(t, "lookup after login", res.stdout, `"display_name": "userpass-alice"`)
	// vault 0.x's "auth TOKEN" is a login.
	res = anon.run(0, "", "auth", "-token-only", r.vars["VAULT_TOKEN"])
	wantContains(t, "legacy auth hint", res.stderr, "`vault auth` is deprecated; use `tresor login`")
	if res.stdout != r.vars["VAULT_TOKEN"] {
		t.Errorf("legacy auth -token-only printed %q", res.stdout)
	}

	res = r.run(0, "", "auth", "enable", "approle")
	wantOutput(t, "auth enable approle", res.stdout, "Success! Enabled approle auth method at: approle/\n")
	r.run(0, "", "write", "auth/approle/role/web", "token_policies=default")
	roleID := r.run(0, "", "read", "-field=role_id", "auth/approle/role/web/role-id").stdout
	secretID := r.run(0, "", "write", "-f", "-field=secret_id", "auth/approle/role/web/secret-id").stdout
	res = anon.run(0, "", "login", "-method=approle", "-token-only", "role_id="+roleID, "secret_id="+secretID)
	if res.stdout == "" {
		t.Error("approle login printed no token")
	}

	res = r.run(0, "", "auth", "disable", "userpass")
	wantOutput(t, "auth disable", res.stdout, "Success! Disabled the auth method (if it existed) at: userpass/\n")
}

// TestAuditWalkthrough enables a file audit device, lists and disables it.
// A failure to enable the device fails the test.
func TestAuditWalkthrough(t *testing.T) {
	r, _ := newCLIRunner(t)
	log := filepath.Join(t.TempDir(), "audit.log")
	res := r.run(0, "", "audit", "enable", "file", "file_path="+log)
	wantOutput(t, "audit enable", res.stdout, "Success! Enabled the file audit device at: file/\n")
	res = r.run(0, "", "audit", "list", "-detailed")
	wantContains(t, "audit list", res.stdout, "file/ ", "file_path:"+log)
	res = r.run(0, "", "audit-disable", "file")
	wantOutput(t, "audit disable", res.stdout, "Success! Disabled audit device (if it was enabled) at: file/\n")
	res = r.run(2, "", "audit", "list")
	wantOutput(t, "audit list empty", res.stdout, "No audit devices are enabled.\n")
}
