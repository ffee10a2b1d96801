package sys_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// initShamir initialises an uninitialised test server with shares/threshold
// and unseals it, returning the shares (base64).
func initShamir(t *testing.T, s *servertest.Server, shares, threshold int) []string {
	t.Helper()
	resp, err := s.Client.Sys().Init(&api.InitRequest{SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		t.Fatal(err)
	}
	s.RootToken = resp.RootToken
	s.Client.SetToken(resp.RootToken)
	unseal(t, s.Client, resp.KeysB64[:threshold])
	return resp.KeysB64
}

func unseal(t *testing.T, c *api.Client, keys []string) {
	t.Helper()
	for _, k := range keys {
		if _, err := c.Sys().Unseal(k); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Sys().SealStatus()
	if err != nil || st.Sealed {
		t.Fatalf("still sealed after %d shares (err %v)", len(keys), err)
	}
}

func TestRekeyWithVerification(t *testing.T) {
	s := servertest.New(t, servertest.Options{Uninitialized: true})
	old := initShamir(t, s, 5, 3)
	c := s.Client
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(t.Context(), "app", map[string]any{"pw": "s3cret"}); err != nil {
		t.Fatal(err)
	}

	st, err := c.Sys().RekeyStatus()
	if err != nil || st.Started || st.Required != 3 {
		t.Fatalf("status before init = %+v, %v", st, err)
	}
	st, err = c.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 7, SecretThreshold: 4, RequireVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Started || st.T != 4 || st.N != 7 || st.Required != 3 || st.Nonce == "" || !st.VerificationRequired {
		t.Fatalf("init status = %+v", st)
	}
	if _, err := c.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2}); err == nil {
		t.Fatal("a second rekey started while one is under way")
	}
	if _, err := c.Sys().RekeyUpdate(old[0], "not-the-nonce"); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("wrong nonce: %v", err)
	}
	var upd *api.RekeyUpdateResponse
	for i, k := range old[:3] {
		if upd, err = c.Sys().RekeyUpdate(k, st.Nonce); err != nil {
			t.Fatal(err)
		}
		if i < 2 && upd.Complete {
			t.Fatalf("complete after %d shares", i+1)
		}
	}
	if !upd.Complete || len(upd.KeysB64) != 7 || len(upd.Keys) != 7 || !upd.VerificationRequired || upd.VerificationNonce == "" {
		t.Fatalf("final update = %+v", upd)
	}
	// Not yet verified: the old shares still open the seal.
	vs, err := c.Sys().RekeyVerificationStatus()
	if err != nil || vs.Nonce != upd.VerificationNonce || vs.T != 4 || vs.N != 7 || vs.Progress != 0 {
		t.Fatalf("verify status = %+v, %v", vs, err)
	}
	// A cancelled verification starts again under a new nonce.
	if err := c.Sys().RekeyVerificationCancel(); err != nil {
		t.Fatal(err)
	}
	vs, err = c.Sys().RekeyVerificationStatus()
	if err != nil || vs.Nonce == upd.VerificationNonce {
		t.Fatalf("verification nonce after cancel = %+v, %v", vs, err)
	}
	var vr *api.RekeyVerificationUpdateResponse
	for _, k := range upd.KeysB64[2:6] {
		if vr, err = c.Sys().RekeyVerificationUpdate(k, vs.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !vr.Complete {
		t.Fatalf("verification not complete: %+v", vr)
	}
	if st, _ := c.Sys().RekeyStatus(); st.Started {
		t.Fatalf("rekey still under way after verification: %+v", st)
	}

	// The old shares are useless now; the new ones open the seal.
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	// Four of them, as the new threshold asks.
	for _, k := range old[:4] {
		_, lastErr = c.Sys().Unseal(k)
	}
	if lastErr == nil {
		t.Fatal("the old shares still unseal")
	}
	ss, _ := c.Sys().SealStatus()
	if !ss.Sealed || ss.T != 4 || ss.N != 7 || ss.Progress != 0 {
		t.Fatalf("seal status = %+v", ss)
	}
	unseal(t, c, upd.KeysB64[3:7])
	sec, err := c.KVv2("secret").Get(t.Context(), "app")
	if err != nil || sec.Data["pw"] != "s3cret" {
		t.Fatalf("secret after rekey = %v, %v", sec, err)
	}
}

func TestRekeyWithoutVerificationAndCancel(t *testing.T) {
	s := servertest.New(t, servertest.Options{Uninitialized: true})
	old := initShamir(t, s, 3, 2)
	c := s.Client
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}

	st, err := c.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sys().RekeyUpdate(old[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().RekeyCancel(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sys().RekeyUpdate(old[1], st.Nonce); err == nil {
		t.Fatal("update accepted after cancel")
	}
	st, err = c.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil || st.Progress != 0 {
		t.Fatalf("new init = %+v, %v", st, err)
	}
	// A share that is not part of the set is only found at the threshold,
	// and the answer does not say which one it was.
	bogus := make([]byte, 33)
	_, _ = rand.Read(bogus)
	if _, err := c.Sys().RekeyUpdate(old[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sys().RekeyUpdate(hex.EncodeToString(bogus), st.Nonce)
	if err == nil || strings.Contains(err.Error(), hex.EncodeToString(bogus)) || strings.Contains(err.Error(), old[0]) {
		t.Fatalf("bogus share at threshold: %v", err)
	}
	if st2, _ := c.Sys().RekeyStatus(); st2.Progress != 0 || st2.Nonce != st.Nonce {
		t.Fatalf("after a failed quorum: %+v", st2)
	}
	var upd *api.RekeyUpdateResponse
	for _, k := range old[1:3] {
		if upd, err = c.Sys().RekeyUpdate(k, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !upd.Complete || len(upd.KeysB64) != 2 || upd.VerificationRequired {
		t.Fatalf("final update = %+v", upd)
	}
	// Neither the old shares nor the new ones reach the audit log in clear.
	logged, err := os.ReadFile(auditLog)
	if err != nil || !strings.Contains(string(logged), "sys/rekey/update") {
		t.Fatalf("audit log: %v\n%s", err, logged)
	}
	for _, k := range append(append([]string{}, old...), append(upd.KeysB64, upd.Keys...)...) {
		if strings.Contains(string(logged), k) {
			t.Fatal("a key share is in the audit log in clear")
		}
	}
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unseal(t, c, upd.KeysB64)
}

func TestGenerateRootWithOTP(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	st, err := c.Sys().GenerateRootStatus()
	if err != nil || st.Started || st.Required != 1 || st.OTPLength != len(s.RootToken) {
		t.Fatalf("status = %+v, %v (root token %d characters)", st, err, len(s.RootToken))
	}
	if _, err := c.Sys().GenerateRootInit("short", ""); err == nil {
		t.Fatal("an OTP of the wrong length was accepted")
	}
	st, err = c.Sys().GenerateRootInit("", "")
	if err != nil || len(st.OTP) != st.OTPLength || !st.Started || st.Nonce == "" {
		t.Fatalf("init = %+v, %v", st, err)
	}
	if _, err := c.Sys().GenerateRootInit("", ""); err == nil {
		t.Fatal("a second attempt started")
	}
	st2, err := c.Sys().GenerateRootUpdate(s.UnsealKeys[0], st.Nonce)
	if err != nil || !st2.Complete || st2.EncodedToken == "" || st2.EncodedRootToken != st2.EncodedToken {
		t.Fatalf("update = %+v, %v", st2, err)
	}
	sec, err := c.Logical().Write("sys/decode-token", map[string]any{"encoded_token": st2.EncodedToken, "otp": st.OTP})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := sec.Data["token"].(string)
	if tok == "" || tok == s.RootToken {
		t.Fatalf("decoded token = %q", tok)
	}
	nc, _ := c.Clone()
	nc.SetToken(tok)
	self, err := nc.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if pols, _ := self.TokenPolicies(); len(pols) != 1 || pols[0] != "root" {
		t.Fatalf("new token's policies = %v", pols)
	}
	if err := nc.Sys().Mount("kv2", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("the new root token cannot mount: %v", err)
	}
	// The attempt is over; a wrong share at the threshold fails and resets.
	st, err = c.Sys().GenerateRootInit(strings.Repeat("a", len(s.RootToken)), "")
	if err != nil || st.OTP != "" {
		t.Fatalf("init with an OTP = %+v, %v", st, err)
	}
	bogus := make([]byte, 32)
	_, _ = rand.Read(bogus)
	if _, err := c.Sys().GenerateRootUpdate(hex.EncodeToString(bogus), st.Nonce); err == nil {
		t.Fatal("a bogus share made a root token")
	}
	if st2, _ := c.Sys().GenerateRootStatus(); st2.Progress != 0 || !st2.Started {
		t.Fatalf("after a failed quorum: %+v", st2)
	}
	if err := c.Sys().GenerateRootCancel(); err != nil {
		t.Fatal(err)
	}
	if st2, _ := c.Sys().GenerateRootStatus(); st2.Started {
		t.Fatalf("after cancel: %+v", st2)
	}
}

func TestQuorumEndpointsNeedSudo(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	plain := tokenWith(t, s, "rekeyer", `path "sys/*" { capabilities = ["create", "read", "update", "delete"] }`)
	sudo := tokenWith(t, s, "rekeyer-sudo", `path "sys/*" { capabilities = ["create", "read", "update", "delete", "sudo"] }`)
	for _, tc := range []struct{ method, path string }{
		{"GET", "sys/rekey/init"}, {"PUT", "sys/rekey/init"}, {"PUT", "sys/rekey/update"}, {"GET", "sys/rekey/verify"},
		{"GET", "sys/generate-root/attempt"}, {"PUT", "sys/generate-root/attempt"}, {"PUT", "sys/generate-root/update"},
		{"DELETE", "sys/generate-root/attempt"}, {"DELETE", "sys/rekey/init"},
		{"GET", "sys/generate-root-token/attempt"}, {"PUT", "sys/generate-root-token/update"},
	} {
		for _, tok := range []string{"", plain} {
			if code, _, _ := call(t, s, tc.method, tc.path, tok, map[string]any{}); code != http.StatusForbidden {
				t.Errorf("%s %s with token %v: %d, want 403", tc.method, tc.path, tok != "", code)
			}
		}
	}
	if code, body, _ := call(t, s, "GET", "sys/generate-root/attempt", sudo, nil); code != 200 || body["otp_length"] == nil {
		t.Errorf("sudo token: %d %v", code, body)
	}
	// OpenBao's name, which its CLI calls, answers the same under "data".
	if code, body, _ := call(t, s, "GET", "sys/generate-root-token/attempt", sudo, nil); code != 200 {
		t.Errorf("sudo token, generate-root-token: %d %v", code, body)
	} else if data, _ := body["data"].(map[string]any); data == nil || data["otp_length"] == nil || data["started"] != false {
		t.Errorf("generate-root-token body: %v", body)
	}

	open := servertest.New(t, servertest.Options{Listener: &config.Listener{Type: "tcp", TLSDisable: true,
		MaxRequestSize: config.DefaultMaxRequestSize, UnauthedRekey: true, UnauthedGenerateRoot: true}})
	for _, p := range []string{"sys/rekey/init", "sys/generate-root/attempt"} {
		if code, body, _ := call(t, open, "GET", p, "", nil); code != 200 || body["started"] != false {
			t.Errorf("open listener, GET %s: %d %v", p, code, body)
		}
	}
	// Opening them opens nothing else, not even OpenBao's
	// always-authenticated generate-root-token names.
	for _, p := range []string{"sys/mounts", "sys/generate-root-token/attempt"} {
		if code, _, _ := call(t, open, "GET", p, "", nil); code != http.StatusForbidden {
			t.Errorf("%s without a token: %d", p, code)
		}
	}
}

// TestQuorumFlood sends 10,000 unauthenticated updates with made-up shares
// and nonces to the opened endpoints while attempts are under way: the
// server's heap stays where it was (BAD-INPUT row 30).
func TestQuorumFlood(t *testing.T) {
	s := servertest.New(t, servertest.Options{Listener: &config.Listener{Type: "tcp", TLSDisable: true,
		MaxRequestSize: config.DefaultMaxRequestSize, UnauthedRekey: true, UnauthedGenerateRoot: true}})
	gr, err := s.Client.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatal(err)
	}
	rk, err := s.Client.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// Warm up connections and the server's paths before measuring.
	flood(t, s, 200, gr.Nonce, rk.Nonce)
	before := heap()
	codes := flood(t, s, 10_000, gr.Nonce, rk.Nonce)
	after := heap()
	t.Logf("heap %d → %d bytes; answers %v", before, after, codes)
	if after > before+8<<20 {
		t.Errorf("heap grew by %d bytes over the flood", after-before)
	}
	if codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("no request was rate limited: %v", codes)
	}
	// The attempts are still there, with nothing piled up in them.
	st, err := s.Client.Sys().GenerateRootStatus()
	if err != nil || st.Nonce != gr.Nonce || st.Progress > st.Required {
		t.Fatalf("generate-root after the flood: %+v, %v", st, err)
	}
}

// flood sends n updates from 4 clients, alternating between rekey and
// generate-root, with random shares and a wrong nonce every third time.
func flood(t *testing.T, s *servertest.Server, n int, grNonce, rkNonce string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	per := n / 4
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for i := range per {
				share := make([]byte, 33)
				_, _ = rand.Read(share)
				path, nonce := "sys/rekey/update", rkNonce
				if i%2 == 0 {
					path, nonce = "sys/generate-root/update", grNonce
					share = share[:32]
				}
				if i%3 == 0 {
					nonce = fmt.Sprintf("bogus-%d-%d", w, i)
				}
				body := fmt.Sprintf(`{"key":%q,"nonce":%q}`, hex.EncodeToString(share), nonce)
				req, _ := http.NewRequest("PUT", s.Addr+"/v1/"+path, strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return codes
}
