package cli

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// TestOperatorRekeyGenerateRootRotate drives the quorum operations with the
// CLI alone, in Vault's syntax: rekey 5/3 → 7/4 with verification (the old
// shares refused afterwards), generate-root with a local OTP and -decode,
// and rotate.
func TestOperatorRekeyGenerateRootRotate(t *testing.T) {
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
	r := run(0, "", "operator", "init", "-key-shares=5", "-key-threshold=3", "-format=json")
	var init initOutput
	if err := json.Unmarshal([]byte(r.stdout), &init); err != nil {
		t.Fatal(err)
	}
	for _, k := range init.UnsealKeysB64[:3] {
		run(0, "", "operator", "unseal", k)
	}
	vars["VAULT_TOKEN"] = init.RootToken
	run(0, "", "write", "cubbyhole/keep", "v=1")

	// Rekey: init, then the old shares (one piped as from the prompt).
	r = run(0, "", "operator", "rekey", "-init", "-key-shares=7", "-key-threshold=4", "-verify")
	if !regexp.MustCompile(`Rekey Progress\s+0/3`).MatchString(r.stdout) || !strings.Contains(r.stdout, "New Shares               7") {
		t.Errorf("rekey -init:\n%s", r.stdout)
	}
	r = run(0, "", "operator", "rekey", "-status", "-format=json")
	var st api.RekeyStatusResponse
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || !st.Started || st.T != 4 || st.N != 7 {
		t.Fatalf("rekey -status json: %v\n%s", err, r.stdout)
	}
	run(2, "", "operator", "rekey", "-nonce=wrong", init.UnsealKeysB64[0])
	run(0, "", "operator", "rekey", "-nonce="+st.Nonce, init.UnsealKeysB64[0])
	run(0, init.UnsealKeysB64[1]+"\n", "operator", "rekey")
	r = run(0, "", "operator", "rekey", "-format=json", init.UnsealKeysB64[2])
	var upd api.RekeyUpdateResponse
	if err := json.Unmarshal([]byte(r.stdout), &upd); err != nil || len(upd.KeysB64) != 7 || upd.VerificationNonce == "" {
		t.Fatalf("last rekey share: %v\n%s", err, r.stdout)
	}
	r = run(0, "", "operator", "rekey", "-verify", "-status")
	if !strings.Contains(r.stdout, upd.VerificationNonce) {
		t.Errorf("rekey -verify -status:\n%s", r.stdout)
	}
	for _, k := range upd.KeysB64[:3] {
		run(0, "", "operator", "rekey", "-verify", k)
	}
	r = run(0, "", "operator", "rekey", "-verify", "-nonce="+upd.VerificationNonce, upd.KeysB64[3])
	if !strings.Contains(r.stdout, "Success! Rekey verification successful") {
		t.Errorf("last verification:\n%s", r.stdout)
	}
	run(0, "", "operator", "seal")
	for _, k := range init.UnsealKeysB64[:3] {
		run(0, "", "operator", "unseal", k)
	}
	run(2, "", "operator", "unseal", init.UnsealKeysB64[3]) // the fourth old share: refused at the threshold
	for _, k := range upd.KeysB64[3:] {
		run(0, "", "operator", "unseal", k)
	}
	run(0, "", "read", "cubbyhole/keep")

	// Rekey cancel.
	run(0, "", "operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2")
	r = run(0, "", "operator", "rekey", "-cancel")
	if !strings.Contains(r.stdout, "Success! Canceled rekeying") {
		t.Errorf("rekey -cancel:\n%s", r.stdout)
	}
	run(2, "", "operator", "rekey", upd.KeysB64[0])

	// Generate root with a locally made OTP.
	otp := strings.TrimSpace(run(0, "", "operator", "generate-root", "-generate-otp").stdout)
	if len(otp) != len(init.RootToken) {
		t.Fatalf("OTP %q for a root token of %d characters", otp, len(init.RootToken))
	}
	r = run(0, "", "operator", "generate-root", "-init", "-otp="+otp)
	if !regexp.MustCompile(`Progress\s+0/4`).MatchString(r.stdout) {
		t.Errorf("generate-root -init:\n%s", r.stdout)
	}
	for _, k := range upd.KeysB64[1:3] {
		run(0, "", "operator", "generate-root", k)
	}
	run(0, upd.KeysB64[0]+"\n", "operator", "generate-root") // piped, as from the prompt
	r = run(0, "", "operator", "generate-root", "-format=json", upd.KeysB64[3])
	var gr api.GenerateRootStatusResponse
	if err := json.Unmarshal([]byte(r.stdout), &gr); err != nil || !gr.Complete || gr.EncodedToken == "" {
		t.Fatalf("last generate-root share: %v\n%s", err, r.stdout)
	}
	tok := strings.TrimSpace(run(0, "", "operator", "generate-root", "-decode="+gr.EncodedToken, "-otp="+otp).stdout)
	if !strings.HasPrefix(tok, "hvs.") || tok == init.RootToken {
		t.Fatalf("decoded token %q", tok)
	}
	if tok2 := strings.TrimSpace(run(0, gr.EncodedToken, "operator", "generate-root", "-decode=-", "-otp="+otp).stdout); tok2 != tok {
		t.Errorf("decode from stdin = %q", tok2)
	}
	vars["VAULT_TOKEN"] = tok
	r = run(0, "", "read", "-field=policies", "auth/token/lookup-self")
	if !strings.Contains(r.stdout, "root") {
		t.Errorf("new token's policies: %s", r.stdout)
	}

	// Server-made OTP, then cancel.
	r = run(0, "", "operator", "generate-root", "-init")
	if !strings.Contains(r.stdout, "OTP Length") || !regexp.MustCompile(`\nOTP\s+\S{28}\n`).MatchString(r.stdout) {
		t.Errorf("generate-root -init without -otp:\n%s", r.stdout)
	}
	run(0, "", "operator", "generate-root", "-cancel")
	r = run(0, "", "operator", "generate-root", "-status")
	if !regexp.MustCompile(`Started\s+false`).MatchString(r.stdout) {
		t.Errorf("generate-root -status after cancel:\n%s", r.stdout)
	}

	// Rotate, with the new root token.
	r = run(0, "", "operator", "rotate")
	if !strings.Contains(r.stdout, "Success! Rotated key") {
		t.Errorf("rotate:\n%s", r.stdout)
	}
	vars["VAULT_TOKEN"] = init.RootToken // cubbyholes are per token
	run(0, "", "read", "cubbyhole/keep")
}

// TestOperatorRecoveryKeys: with seal "static", operator init returns
// recovery keys, status shows the recovery seal, and the recovery keys are
// rekeyed (-target=recovery), make a root token and unseal after a seal.
func TestOperatorRecoveryKeys(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
	srv := servertest.New(t, servertest.Options{Seals: []config.Seal{{Type: "static",
		Config: map[string]string{"current_key_id": "one", "current_key": key}}}})
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": srv.Addr}
	run := func(wantCode int, args ...string) result {
		t.Helper()
		r := runCLI(t, home, vars, "", args...)
		if r.code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}
	r := run(0, "operator", "init", "-recovery-shares=3", "-recovery-threshold=2", "-format=json")
	var init initOutput
	if err := json.Unmarshal([]byte(r.stdout), &init); err != nil || len(init.RecoveryKeysB64) != 3 || len(init.UnsealKeysB64) != 0 {
		t.Fatalf("init: %v\n%s", err, r.stdout)
	}
	vars["VAULT_TOKEN"] = init.RootToken
	r = run(0, "status")
	for _, want := range []string{`Seal Type\s+static`, `Recovery Seal Type\s+shamir`, `Total Recovery Shares\s+3`, `Sealed\s+false`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("status lacks %s:\n%s", want, r.stdout)
		}
	}
	run(2, "operator", "rekey", "-init", "-key-shares=2", "-key-threshold=2")
	run(0, "operator", "rekey", "-target=recovery", "-init", "-key-shares=2", "-key-threshold=2")
	run(0, "operator", "rekey", "-target=recovery", init.RecoveryKeysB64[0])
	r = run(0, "operator", "rekey", "-target=recovery", "-format=json", init.RecoveryKeysB64[2])
	var upd api.RekeyUpdateResponse
	if err := json.Unmarshal([]byte(r.stdout), &upd); err != nil || len(upd.KeysB64) != 2 {
		t.Fatalf("recovery rekey: %v\n%s", err, r.stdout)
	}
	r = run(0, "operator", "generate-root", "-init", "-format=json")
	var gr api.GenerateRootStatusResponse
	if err := json.Unmarshal([]byte(r.stdout), &gr); err != nil || gr.OTP == "" {
		t.Fatalf("generate-root -init: %v\n%s", err, r.stdout)
	}
	run(0, "operator", "generate-root", init.RecoveryKeysB64[1]) // an old recovery key…
	run(2, "operator", "generate-root", upd.KeysB64[0])          // …is found out at the threshold, and the progress reset
	run(0, "operator", "generate-root", upd.KeysB64[0])
	r = run(0, "operator", "generate-root", "-format=json", upd.KeysB64[1])
	if err := json.Unmarshal([]byte(r.stdout), &gr); err != nil || !gr.Complete {
		t.Fatalf("generate-root: %v\n%s", err, r.stdout)
	}
	run(0, "operator", "seal")
	run(0, "operator", "unseal", upd.KeysB64[1])
	r = run(0, "operator", "unseal", upd.KeysB64[0])
	if !regexp.MustCompile(`Sealed\s+false`).MatchString(r.stdout) {
		t.Errorf("unseal with recovery keys:\n%s", r.stdout)
	}
}
