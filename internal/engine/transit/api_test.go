package transit_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func mountTransit(t *testing.T, c *api.Client) {
	t.Helper()
	if err := c.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
}

// TestTransitThroughClient drives the engine with Vault's Go client as a
// user would: every key type round trips, rotation, rewrap, batches and a
// signature checked with the standard library.
func TestTransitThroughClient(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	mountTransit(t, c)
	l := c.Logical()

	for _, typ := range []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "rsa-2048"} {
		if _, err := l.Write("transit/keys/"+typ, map[string]any{"type": typ}); err != nil {
			t.Fatal(err)
		}
		sec, err := l.Write("transit/encrypt/"+typ, map[string]any{"plaintext": b64("hello " + typ)})
		if err != nil {
			t.Fatal(err)
		}
		ct := sec.Data["ciphertext"].(string)
		out, err := l.Write("transit/decrypt/"+typ, map[string]any{"ciphertext": ct})
		if err != nil || out.Data["plaintext"] != b64("hello "+typ) {
			t.Fatalf("%s: %v %v", typ, out, err)
		}
	}
	for _, typ := range []string{"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-3072", "hmac"} {
		if _, err := l.Write("transit/keys/"+typ, map[string]any{"type": typ}); err != nil {
			t.Fatal(err)
		}
		if typ == "hmac" {
			continue
		}
		sig, err := l.Write("transit/sign/"+typ, map[string]any{"input": b64("msg")})
		if err != nil {
			t.Fatal(err)
		}
		v, err := l.Write("transit/verify/"+typ, map[string]any{"input": b64("msg"), "signature": sig.Data["signature"]})
		if err != nil || v.Data["valid"] != true {
			t.Fatalf("%s verify: %v %v", typ, v, err)
		}
	}
	mac, err := l.Write("transit/hmac/hmac", map[string]any{"input": b64("msg")})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := l.Write("transit/verify/hmac", map[string]any{"input": b64("msg"), "hmac": mac.Data["hmac"]}); err != nil || v.Data["valid"] != true {
		t.Fatalf("hmac verify: %v %v", v, err)
	}

	// The ECDSA signature verifies with the published public key.
	key, err := l.Read("transit/keys/ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	pemText := key.Data["keys"].(map[string]any)["1"].(map[string]any)["public_key"].(string)
	blk, _ := pem.Decode([]byte(pemText))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := l.Write("transit/sign/ecdsa-p256", map[string]any{"input": b64("msg")})
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig.Data["signature"].(string), "vault:v1:"))
	sum := sha256.Sum256([]byte("msg"))
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum[:], raw) {
		t.Error("stdlib rejects the ECDSA signature")
	}

	// Rotation, min_decryption_version and rewrap.
	old, _ := l.Write("transit/encrypt/aes256-gcm96", map[string]any{"plaintext": b64("old")})
	if _, err := l.Write("transit/keys/aes256-gcm96/rotate", nil); err != nil {
		t.Fatal(err)
	}
	rw, err := l.Write("transit/rewrap/aes256-gcm96", map[string]any{"ciphertext": old.Data["ciphertext"]})
	if err != nil || !strings.HasPrefix(rw.Data["ciphertext"].(string), "vault:v2:") {
		t.Fatalf("rewrap: %v %v", rw, err)
	}
	if _, err := l.Write("transit/keys/aes256-gcm96/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write("transit/decrypt/aes256-gcm96", map[string]any{"ciphertext": old.Data["ciphertext"]}); statusOf(err) != 400 {
		t.Errorf("v1 after min_decryption_version=2: %v", err)
	}
	if out, err := l.Write("transit/decrypt/aes256-gcm96", map[string]any{"ciphertext": rw.Data["ciphertext"]}); err != nil || out.Data["plaintext"] != b64("old") {
		t.Errorf("rewrapped: %v %v", out, err)
	}

	// A batch of 1,000 with per-item errors answers 400 with every result.
	batch := make([]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"plaintext": b64(fmt.Sprint(i))}
	}
	batch[500] = map[string]any{"plaintext": "not base64!"}
	_, err = l.Write("transit/encrypt/aes256-gcm96", map[string]any{"batch_input": batch})
	if statusOf(err) != 400 {
		t.Fatalf("batch with a bad item: %v", err)
	}
	resp, err := l.Write("transit/encrypt/aes256-gcm96", map[string]any{"batch_input": batch, "partial_failure_response_code": 207})
	if err != nil {
		t.Fatalf("partial batch: %v", err)
	}
	results := resp.Data["batch_results"].([]any)
	if len(results) != 1000 || results[500].(map[string]any)["error"] == nil || results[499].(map[string]any)["ciphertext"] == nil {
		t.Fatalf("batch results: %d", len(results))
	}

	if list, err := l.List("transit/keys"); err != nil || len(list.Data["keys"].([]any)) != 10 {
		t.Errorf("list: %v %v", list, err)
	}
	if _, err := l.Delete("transit/keys/hmac"); statusOf(err) != 400 {
		t.Errorf("delete without deletion_allowed: %v", err)
	}
}

// TestBackupRestoreAcrossServers moves a key between two servers.
func TestBackupRestoreAcrossServers(t *testing.T) {
	a := servertest.New(t, servertest.Options{})
	b := servertest.New(t, servertest.Options{})
	mountTransit(t, a.Client)
	mountTransit(t, b.Client)
	la, lb := a.Client.Logical(), b.Client.Logical()
	if _, err := la.Write("transit/keys/app", map[string]any{"exportable": true, "allow_plaintext_backup": true}); err != nil {
		t.Fatal(err)
	}
	ct, _ := la.Write("transit/encrypt/app", map[string]any{"plaintext": b64("moved")})
	bk, err := la.Read("transit/backup/app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.Write("transit/restore", map[string]any{"backup": bk.Data["backup"]}); err != nil {
		t.Fatal(err)
	}
	out, err := lb.Write("transit/decrypt/app", map[string]any{"ciphertext": ct.Data["ciphertext"]})
	if err != nil || out.Data["plaintext"] != b64("moved") {
		t.Fatalf("decrypt on second server: %v %v", out, err)
	}
}

// End to end through HTTP, the core (token, ACL, audit) and the client.

func BenchmarkHTTPEncrypt(b *testing.B) {
	s := servertest.New(b, servertest.Options{})
	if err := s.Client.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		b.Fatal(err)
	}
	l := s.Client.Logical()
	if _, err := l.Write("transit/keys/k", nil); err != nil {
		b.Fatal(err)
	}
	body := map[string]any{"plaintext": b64("4111 1111 1111 1111")}
	for b.Loop() {
		if _, err := l.Write("transit/encrypt/k", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTTPEncryptBatch100(b *testing.B) {
	s := servertest.New(b, servertest.Options{})
	if err := s.Client.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		b.Fatal(err)
	}
	l := s.Client.Logical()
	if _, err := l.Write("transit/keys/k", nil); err != nil {
		b.Fatal(err)
	}
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{"plaintext": b64(fmt.Sprintf("card-number-%08d", i))}
	}
	body := map[string]any{"batch_input": items}
	for b.Loop() {
		if _, err := l.Write("transit/encrypt/k", body); err != nil {
			b.Fatal(err)
		}
	}
}
