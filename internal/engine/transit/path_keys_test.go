package transit

import (
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestKeysLifecycle(t *testing.T) {
	h := newHarness(t)
	resp := h.write("keys/app")
	d := resp.Data
	if d["type"] != typeAES256 || d["latest_version"] != 1 || d["min_decryption_version"] != 1 || d["supports_encryption"] != true {
		t.Fatalf("create: %v", d)
	}
	if _, ok := d["keys"].(map[string]any)["1"].(int64); !ok {
		t.Errorf("symmetric keys map should hold creation times: %v", d["keys"])
	}
	h.write("keys/other", "type", "ed25519")
	list := h.must(logical.ListOperation, "keys/", nil)
	if got := list.Data["keys"].([]string); len(got) != 2 || got[0] != "app" || got[1] != "other" {
		t.Errorf("list = %v", got)
	}
	read := h.must(logical.ReadOperation, "keys/other", nil)
	k1 := read.Data["keys"].(map[string]any)["1"].(map[string]any)
	if k1["name"] != "ed25519" || k1["public_key"] == "" {
		t.Errorf("asymmetric read: %v", k1)
	}

	_, err := h.do(logical.DeleteOperation, "keys/app", nil)
	wantErr(t, "delete without deletion_allowed", err, "deletion is not allowed for this key")
	h.write("keys/app/config", "deletion_allowed", true)
	h.must(logical.DeleteOperation, "keys/app", nil)
	if resp := h.must(logical.ReadOperation, "keys/app", nil); resp != nil {
		t.Errorf("deleted key still readable: %v", resp.Data)
	}
	wantErr(t, "decrypt with deleted key", h.writeErr("decrypt/app", "ciphertext", "vault:v1:AAAA"), "encryption key not found")
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t)
	cases := map[string]struct {
		kv  []any
		msg string
	}{
		"unknown type":           {[]any{"type", "des"}, "unknown key type"},
		"convergent without der": {[]any{"convergent_encryption", true}, "convergent encryption requires derivation"},
		"derived ecdsa":          {[]any{"type", "ecdsa-p256", "derived", true}, "not supported for keys of type ecdsa-p256"},
		"hmac too small":         {[]any{"type", "hmac", "key_size", 8}, "key_size"},
		"key_size on aes":        {[]any{"key_size", 64}, "only valid for hmac"},
		"rotate period too low":  {[]any{"auto_rotate_period", "10m"}, "at least an hour"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantErr(t, name, h.writeErr("keys/k", tc.kv...), tc.msg)
		})
	}
	wantErr(t, "bad name", h.writeErr("keys/..", "type", "aes256-gcm96"), "invalid key name")
}

func TestRotationAndMinDecryption(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	ct1 := h.write("encrypt/k", "plaintext", enc("one")).Data["ciphertext"].(string)
	h.write("keys/k/rotate")
	h.write("keys/k/rotate")
	resp := h.write("encrypt/k", "plaintext", enc("three"))
	if resp.Data["key_version"] != 3 || resp.Data["ciphertext"].(string)[:9] != "vault:v3:" {
		t.Fatalf("after two rotations: %v", resp.Data)
	}
	// Old versions still decrypt.
	if got := dec(t, h.write("decrypt/k", "ciphertext", ct1).Data["plaintext"]); got != "one" {
		t.Errorf("v1 decrypt = %q", got)
	}
	// Rewrap moves v1 ciphertext to v3.
	rw := h.write("rewrap/k", "ciphertext", ct1).Data
	if rw["key_version"] != 3 || rw["ciphertext"].(string)[:9] != "vault:v3:" {
		t.Fatalf("rewrap: %v", rw)
	}
	if got := dec(t, h.write("decrypt/k", "ciphertext", rw["ciphertext"]).Data["plaintext"]); got != "one" {
		t.Errorf("rewrapped decrypt = %q", got)
	}
	// min_decryption_version forbids v1.
	h.write("keys/k/config", "min_decryption_version", 2)
	wantErr(t, "v1 after min_decryption_version=2", h.writeErr("decrypt/k", "ciphertext", ct1), "too old")
	keys := h.must(logical.ReadOperation, "keys/k", nil).Data["keys"].(map[string]any)
	if _, ok := keys["1"]; ok || len(keys) != 2 {
		t.Errorf("read shows archived versions: %v", keys)
	}
	// Encrypting with a version below min_encryption_version fails.
	h.write("keys/k/config", "min_encryption_version", 3)
	wantErr(t, "encrypt with v2", h.writeErr("encrypt/k", "plaintext", enc("x"), "key_version", 2), "minimum encryption key version")
	wantErr(t, "min_encryption below min_decryption", h.writeErr("keys/k/config", "min_decryption_version", 3, "min_encryption_version", 2), "should not be less than")
	wantErr(t, "min_decryption beyond latest", h.writeErr("keys/k/config", "min_decryption_version", 9), "latest key version is 3")
	// Back down again: v1 decrypts once more.
	h.write("keys/k/config", "min_decryption_version", 1, "min_encryption_version", 0)
	if got := dec(t, h.write("decrypt/k", "ciphertext", ct1).Data["plaintext"]); got != "one" {
		t.Errorf("v1 decrypt after lowering = %q", got)
	}
}

func TestTrim(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	ct1 := h.write("encrypt/k", "plaintext", enc("one")).Data["ciphertext"].(string)
	h.write("keys/k/rotate")
	h.write("keys/k/rotate")
	wantErr(t, "trim above min_decryption", h.writeErr("keys/k/trim", "min_available_version", 2), "greater than minimum decryption version")
	h.write("keys/k/config", "min_decryption_version", 2)
	d := h.write("keys/k/trim", "min_available_version", 2).Data
	if d["min_available_version"] != 2 {
		t.Errorf("trim: %v", d)
	}
	wantErr(t, "min_decryption below trimmed", h.writeErr("keys/k/config", "min_decryption_version", 1), "min available version")
	wantErr(t, "decrypt trimmed", h.writeErr("decrypt/k", "ciphertext", ct1), "too old")
	wantErr(t, "trim lower", h.writeErr("keys/k/trim", "min_available_version", 1), "cannot be lower")
	// The trimmed version is gone from storage too.
	h2 := newHarnessOn(t, h.s)
	if p, _ := h2.b.keys.get(t.Context(), h.s, "k"); p == nil || p.Versions[1] != nil || p.Versions[2] == nil {
		t.Errorf("stored key after trim: %+v", p)
	}
}

func TestAutoRotate(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k", "auto_rotate_period", "24h")
	if v := h.write("encrypt/k", "plaintext", enc("a")).Data["key_version"]; v != 1 {
		t.Fatalf("version = %v", v)
	}
	h.clock.advance(25 * time.Hour)
	if v := h.write("encrypt/k", "plaintext", enc("a")).Data["key_version"]; v != 2 {
		t.Errorf("version after period = %v, want 2", v)
	}
	if v := h.write("encrypt/k", "plaintext", enc("a")).Data["key_version"]; v != 2 {
		t.Errorf("version right after rotation = %v, want 2", v)
	}
	if got := h.must(logical.ReadOperation, "keys/k", nil).Data["auto_rotate_period"]; got != int64(86400) {
		t.Errorf("auto_rotate_period = %v", got)
	}
}

func TestEncryptUpsertAndDisable(t *testing.T) {
	h := newHarness(t)
	resp := h.write("encrypt/new", "plaintext", enc("x"), "type", "chacha20-poly1305")
	if resp.Data["key_version"] != 1 {
		t.Fatalf("upsert: %v", resp.Data)
	}
	if typ := h.must(logical.ReadOperation, "keys/new", nil).Data["type"]; typ != typeChaCha {
		t.Errorf("upserted type = %v", typ)
	}
	h.write("config/keys", "disable_upsert", true)
	wantErr(t, "upsert disabled", h.writeErr("encrypt/newer", "plaintext", enc("x")), "encryption key not found")
	// An update (the key exists per the core's check) never creates one.
	_, err := h.b.HandleRequest(t.Context(), &logical.Request{Operation: logical.UpdateOperation, Path: "encrypt/ghost", Data: m("plaintext", enc("x")), Storage: h.s})
	wantErr(t, "update of missing key", err, "encryption key not found")
}
