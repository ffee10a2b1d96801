package transit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestEncryptDecryptEveryType(t *testing.T) {
	h := newHarness(t)
	for _, typ := range []string{typeAES128, typeAES256, typeChaCha, typeRSA2048} {
		t.Run(typ, func(t *testing.T) {
			h.write("keys/"+typ, "type", typ)
			ct := h.write("encrypt/"+typ, "plaintext", enc("secret data")).Data["ciphertext"].(string)
			if !strings.HasPrefix(ct, "vault:v1:") {
				t.Fatalf("ciphertext %q", ct)
			}
			if got := dec(t, h.write("decrypt/"+typ, "ciphertext", ct).Data["plaintext"]); got != "secret data" {
				t.Errorf("round trip = %q", got)
			}
		})
	}
	for _, typ := range []string{typeEd25519, typeECDSAP256, typeHMAC} {
		h.write("keys/"+typ, "type", typ)
		wantErr(t, typ, h.writeErr("encrypt/"+typ, "plaintext", enc("x")), "encryption not supported")
	}
}

// TestCiphertextFormat opens ciphertexts with the standard library and the
// exported key: "vault:v1:" + base64(nonce || sealed data || tag).
func TestCiphertextFormat(t *testing.T) {
	h := newHarness(t)
	for _, typ := range []string{typeAES128, typeAES256, typeChaCha, typeRSA2048} {
		t.Run(typ, func(t *testing.T) {
			h.write("keys/f"+typ, "type", typ, "exportable", true)
			ct := h.write("encrypt/f"+typ, "plaintext", enc("hello")).Data["ciphertext"].(string)
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "vault:v1:"))
			if err != nil {
				t.Fatal(err)
			}
			keyText := h.must(logical.ReadOperation, "export/encryption-key/f"+typ+"/1", nil).Data["keys"].(map[string]string)["1"]
			var pt []byte
			if typ == typeRSA2048 {
				blk, _ := pem.Decode([]byte(keyText))
				k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				pt, err = rsa.DecryptOAEP(sha256.New(), nil, k, raw, nil)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				key, _ := base64.StdEncoding.DecodeString(keyText)
				var a cipher.AEAD
				if typ == typeChaCha {
					a, _ = chacha20poly1305.New(key)
				} else {
					blk, _ := aes.NewCipher(key)
					a, _ = cipher.NewGCM(blk)
				}
				pt, err = a.Open(nil, raw[:12], raw[12:], nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			if string(pt) != "hello" {
				t.Errorf("stdlib decryption = %q", pt)
			}
		})
	}
}

func TestDecryptErrors(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	ct := h.write("encrypt/k", "plaintext", enc("x")).Data["ciphertext"].(string)
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "vault:v1:"))
	raw[len(raw)-1] ^= 1 // the tag's last byte
	flipped := "vault:v1:" + base64.StdEncoding.EncodeToString(raw)
	cases := map[string]struct{ ct, msg string }{
		"no prefix":      {"abc", "no prefix"},
		"no version":     {"vault:abc", "wrong number of fields"},
		"bad version":    {"vault:vx:abc", "version number"},
		"future version": {"vault:v9:" + strings.TrimPrefix(ct, "vault:v1:"), "too new"},
		"bad base64":     {"vault:v1:!!!", "base64"},
		"short":          {"vault:v1:AAAA", "too short"},
		"tampered":       {flipped, "message authentication failed"},
	}
	for name, tc := range cases {
		wantErr(t, name, h.writeErr("decrypt/k", "ciphertext", tc.ct), tc.msg)
	}
	wantErr(t, "bad plaintext", h.writeErr("encrypt/k", "plaintext", "%%%"), "base64-decode plaintext")
	wantErr(t, "missing plaintext", h.writeErr("encrypt/k"), "missing plaintext")
}

func TestBatchThousand(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	items := make([]any, 1000)
	for i := range items {
		items[i] = map[string]any{"plaintext": enc(fmt.Sprintf("item-%d", i)), "reference": fmt.Sprint(i)}
	}
	resp := h.write("encrypt/k", "batch_input", items)
	if resp.StatusCode != 0 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	results := batchResults(t, resp)
	if len(results) != 1000 {
		t.Fatalf("%d results", len(results))
	}
	dIn := make([]any, len(results))
	for i, r := range results {
		if r["reference"] != fmt.Sprint(i) || r["error"] != nil {
			t.Fatalf("result %d: %v", i, r)
		}
		dIn[i] = map[string]any{"ciphertext": r["ciphertext"]}
	}
	out := batchResults(t, h.write("decrypt/k", "batch_input", dIn))
	for i, r := range out {
		if got := dec(t, r["plaintext"]); got != fmt.Sprintf("item-%d", i) {
			t.Fatalf("item %d = %q", i, got)
		}
	}
}

func TestBatchItemErrors(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	good := h.write("encrypt/k", "plaintext", enc("ok")).Data["ciphertext"]
	batch := []any{
		map[string]any{"ciphertext": good, "reference": "a"},
		map[string]any{"ciphertext": "garbage", "reference": "b"},
	}
	resp := h.write("decrypt/k", "batch_input", batch)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	res := batchResults(t, resp)
	if dec(t, res[0]["plaintext"]) != "ok" || res[0]["reference"] != "a" {
		t.Errorf("good item: %v", res[0])
	}
	if res[1]["error"] != "invalid ciphertext: no prefix" || res[1]["reference"] != "b" {
		t.Errorf("bad item: %v", res[1])
	}
	resp = h.write("decrypt/k", "batch_input", batch, "partial_failure_response_code", 207)
	if resp.StatusCode != 207 {
		t.Errorf("partial status = %d", resp.StatusCode)
	}
	wantErr(t, "empty batch", h.writeErr("decrypt/k", "batch_input", []any{}), "missing batch input")
	wantErr(t, "batch of non-objects", h.writeErr("decrypt/k", "batch_input", []any{"x"}), "batch_input")
}

// TestBatchWireShape pins batch_results entries as Vault encodes them:
// reference always present, decrypt's plaintext and verify's valid present
// even on a failed item, key_version and outputs left out on failure.
func TestBatchWireShape(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	h.write("keys/ec", "type", "ecdsa-p256")
	shape := func(resp *logical.Response) string {
		raw, err := json.Marshal(resp.Data["batch_results"])
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	for _, tc := range []struct {
		name, path, want string
		items            []any
	}{
		{"encrypt", "encrypt/k", `[{"error":"failed to base64-decode plaintext","reference":""}]`, []any{map[string]any{"plaintext": "%%"}}},
		{"decrypt", "decrypt/k", `[{"plaintext":"","error":"invalid ciphertext: no prefix","reference":"r"}]`, []any{map[string]any{"ciphertext": "x", "reference": "r"}}},
		{"hmac", "hmac/k", `[{"error":"failed to base64-decode input","reference":""}]`, []any{map[string]any{"input": "%%"}}},
		{"sign", "sign/ec", `[{"error":"failed to base64-decode input","reference":""}]`, []any{map[string]any{"input": "%%"}}},
		{"verify", "verify/ec", `[{"valid":false,"error":"failed to base64-decode input","reference":""}]`, []any{map[string]any{"input": "%%", "signature": "vault:v1:AA=="}}},
	} {
		if got := shape(h.write(tc.path, "batch_input", tc.items)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDerivedAndConvergent(t *testing.T) {
	h := newHarness(t)
	h.write("keys/d", "derived", true)
	wantErr(t, "no context", h.writeErr("encrypt/d", "plaintext", enc("x")), "missing 'context'")
	ct := h.write("encrypt/d", "plaintext", enc("x"), "context", enc("user-1")).Data["ciphertext"]
	if got := dec(t, h.write("decrypt/d", "ciphertext", ct, "context", enc("user-1")).Data["plaintext"]); got != "x" {
		t.Errorf("derived round trip = %q", got)
	}
	wantErr(t, "other context", h.writeErr("decrypt/d", "ciphertext", ct, "context", enc("user-2")), "authentication failed")

	h.write("keys/c", "derived", true, "convergent_encryption", true)
	d := h.must(logical.ReadOperation, "keys/c", nil).Data
	if d["convergent_encryption_version"] != 3 || d["kdf"] != "hkdf_sha256" {
		t.Errorf("convergent key: %v", d)
	}
	a := h.write("encrypt/c", "plaintext", enc("same"), "context", enc("ctx")).Data["ciphertext"]
	b := h.write("encrypt/c", "plaintext", enc("same"), "context", enc("ctx")).Data["ciphertext"]
	c := h.write("encrypt/c", "plaintext", enc("same"), "context", enc("other")).Data["ciphertext"]
	if a != b || a == c {
		t.Errorf("convergent: %v %v %v", a, b, c)
	}
	// Upsert with a context creates a derived key.
	h.write("encrypt/up", "plaintext", enc("x"), "context", enc("c"))
	if h.must(logical.ReadOperation, "keys/up", nil).Data["derived"] != true {
		t.Error("upsert with context should derive")
	}
}

func TestDatakey(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	d := h.write("datakey/plaintext/k", "bits", 512).Data
	pt, _ := base64.StdEncoding.DecodeString(d["plaintext"].(string))
	if len(pt) != 64 {
		t.Errorf("plaintext data key of %d bytes", len(pt))
	}
	if got := h.write("decrypt/k", "ciphertext", d["ciphertext"]).Data["plaintext"]; got != d["plaintext"] {
		t.Error("wrapped data key does not decrypt to the plaintext one")
	}
	w := h.write("datakey/wrapped/k").Data
	if _, ok := w["plaintext"]; ok || w["ciphertext"] == nil {
		t.Errorf("wrapped: %v", w)
	}
	wantErr(t, "bad kind", h.writeErr("datakey/raw/k"), "invalid path variable")
	wantErr(t, "bad bits", h.writeErr("datakey/wrapped/k", "bits", 100), "bits")
}

func TestAssociatedData(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	ct := h.write("encrypt/k", "plaintext", enc("x"), "associated_data", enc("row 7")).Data["ciphertext"]
	if got := dec(t, h.write("decrypt/k", "ciphertext", ct, "associated_data", enc("row 7")).Data["plaintext"]); got != "x" {
		t.Errorf("with AAD: %q", got)
	}
	wantErr(t, "other AAD", h.writeErr("decrypt/k", "ciphertext", ct, "associated_data", enc("row 8")), "authentication failed")
	wantErr(t, "no AAD", h.writeErr("decrypt/k", "ciphertext", ct), "authentication failed")
	rw := h.write("rewrap/k", "ciphertext", ct, "associated_data", enc("row 7")).Data["ciphertext"]
	if got := dec(t, h.write("decrypt/k", "ciphertext", rw, "associated_data", enc("row 7")).Data["plaintext"]); got != "x" {
		t.Errorf("rewrapped with AAD: %q", got)
	}
	h.write("keys/r", "type", "rsa-2048")
	wantErr(t, "rsa", h.writeErr("encrypt/r", "plaintext", enc("x"), "associated_data", enc("a")), "AEAD")
}

// TestConcurrentUseAndRotation encrypts from many goroutines while the key
// rotates and its configuration changes; every ciphertext must decrypt.
func TestConcurrentUseAndRotation(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	var wg sync.WaitGroup
	cts := make(chan string, 400)
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				resp, err := h.do(logical.UpdateOperation, "encrypt/k", m("plaintext", enc(fmt.Sprint(w, i))))
				if err != nil {
					t.Error(err)
					return
				}
				cts <- resp.Data["ciphertext"].(string)
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := h.do(logical.UpdateOperation, "keys/k/rotate", nil); err != nil {
				t.Error(err)
			}
			if _, err := h.do(logical.UpdateOperation, "keys/k/config", m("deletion_allowed", false)); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(cts)
	n := 0
	for ct := range cts {
		if _, err := h.do(logical.UpdateOperation, "decrypt/k", m("ciphertext", ct)); err != nil {
			t.Fatalf("decrypt %s: %v", ct, err)
		}
		n++
	}
	if n != 400 {
		t.Errorf("%d ciphertexts", n)
	}
	if v := h.must(logical.ReadOperation, "keys/k", nil).Data["latest_version"]; v != 11 {
		t.Errorf("latest_version %v", v)
	}
}
