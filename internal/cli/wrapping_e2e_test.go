package cli

import (
	"strings"
	"testing"
)

// TestWrapUnwrapEndToEnd wraps a kv get and an AppRole secret-id with
// -wrap-ttl, opens each with unwrap, and checks a wrapping token opens once.
func TestWrapUnwrapEndToEnd(t *testing.T) {
	r, _ := newCLIRunner(t)
	r.run(0, "", "kv", "put", "secret/app", "pw=hunter2")

	res := r.run(0, "", "kv", "get", "-wrap-ttl=60s", "secret/app")
	wantContains(t, "wrapped kv get", res.stdout, "wrapping_token:", "wrapping_accessor:",
		"wrapping_token_ttl:              1m", "wrapping_token_creation_time:",
		"wrapping_token_creation_path:    secret/data/app")
	if strings.Contains(res.stdout, "hunter2") {
		t.Errorf("wrapped output shows the secret:\n%s", res.stdout)
	}

	wrapped := r.run(0, "", "kv", "get", "-wrap-ttl=60s", "-field=wrapping_token", "secret/app").stdout
	if wrapped == "" {
		t.Fatal("no wrapping token printed")
	}
	res = r.run(0, "", "unwrap", "-format=json", wrapped)
	wantContains(t, "unwrap json", res.stdout, `"pw": "hunter2"`)
	res = r.run(2, "", "unwrap", wrapped)
	wantContains(t, "second unwrap", res.stderr, "Error unwrapping")

	// The classic AppRole flow: a wrapped secret-id, unwrapped with the
	// wrapping token as the only token.
	r.run(0, "", "auth", "enable", "approle")
	r.run(0, "", "write", "auth/approle/role/web", "token_policies=default")
	wrapped = r.run(0, "", "write", "-wrap-ttl=60s", "-f", "-field=wrapping_token",
		"auth/approle/role/web/secret-id").stdout
	holder := &cliRunner{t: t, home: t.TempDir(), vars: map[string]string{
		"VAULT_ADDR": r.vars["VAULT_ADDR"], "VAULT_TOKEN": wrapped,
	}}
	secretID := holder.run(0, "", "unwrap", "-field=secret_id").stdout
	if secretID == "" {
		t.Fatal("unwrap printed no secret_id")
	}
	holder.run(2, "", "unwrap")
	roleID := r.run(0, "", "read", "-field=role_id", "auth/approle/role/web/role-id").stdout
	res = r.run(0, "", "write", "-field=token", "auth/approle/login", "role_id="+roleID, "secret_id="+secretID)
	if res.stdout == "" {
		t.Error("login with the unwrapped secret_id gave no token")
	}
}

// TestLeaseEndToEnd covers the lease commands' error paths against a real
// server; no servertest engine issues leases, so the happy paths are in
// lease_test.go against a fake.
func TestLeaseEndToEnd(t *testing.T) {
	r, _ := newCLIRunner(t)
	res := r.run(2, "", "lease", "lookup", "secret/nope/1")
	wantContains(t, "lookup unknown", res.stderr, "Error looking up lease id secret/nope/1", "invalid lease")
	res = r.run(2, "", "lease", "renew", "-increment=1h", "secret/nope/1")
	wantContains(t, "renew unknown", res.stderr, "Error renewing secret/nope/1", "invalid lease")
	res = r.run(2, "", "lease", "list", "secret/nope/")
	wantContains(t, "list empty", res.stderr, "No leases found under secret/nope")
	res = r.run(0, "", "lease", "revoke", "-prefix", "-sync", "secret/nope/")
	wantOutput(t, "revoke prefix", res.stdout, "Success! Revoked any leases with prefix: secret/nope/\n")

	// Without a token the server refuses.
	anon := &cliRunner{t: t, home: t.TempDir(), vars: map[string]string{"VAULT_ADDR": r.vars["VAULT_ADDR"]}}
	res = anon.run(2, "", "lease", "revoke", "secret/nope/1")
	wantContains(t, "revoke denied", res.stderr, "Error revoking lease secret/nope/1")
}
