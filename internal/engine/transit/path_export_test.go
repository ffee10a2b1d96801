package transit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestExport(t *testing.T) {
	h := newHarness(t)
	h.write("keys/locked")
	_, err := h.do(logical.ReadOperation, "export/encryption-key/locked", nil)
	wantErr(t, "not exportable", err, "not exportable")

	h.write("keys/ec", "type", "ecdsa-p256", "exportable", true)
	h.write("keys/ec/rotate")
	d := h.must(logical.ReadOperation, "export/signing-key/ec", nil).Data
	keys := d["keys"].(map[string]string)
	if d["name"] != "ec" || d["type"] != typeECDSAP256 || len(keys) != 2 {
		t.Fatalf("export: %v", d)
	}
	blk, _ := pem.Decode([]byte(keys["2"]))
	if blk == nil || blk.Type != "EC PRIVATE KEY" {
		t.Fatalf("signing key PEM: %q", keys["2"])
	}
	if _, err := x509.ParseECPrivateKey(blk.Bytes); err != nil {
		t.Error(err)
	}
	latest := h.must(logical.ReadOperation, "export/public-key/ec/latest", nil).Data["keys"].(map[string]string)
	if _, ok := latest["2"]; !ok || len(latest) != 1 {
		t.Errorf("latest public key: %v", latest)
	}
	pblk, _ := pem.Decode([]byte(latest["2"]))
	if pub, err := x509.ParsePKIXPublicKey(pblk.Bytes); err != nil {
		t.Error(err)
	} else if _, ok := pub.(*ecdsa.PublicKey); !ok {
		t.Errorf("public key is %T", pub)
	}

	h.write("keys/ed", "type", "ed25519", "exportable", true)
	raw, _ := base64.StdEncoding.DecodeString(h.must(logical.ReadOperation, "export/signing-key/ed/1", nil).Data["keys"].(map[string]string)["1"])
	if len(raw) != ed25519.PrivateKeySize {
		t.Errorf("ed25519 export of %d bytes", len(raw))
	}
	_, err = h.do(logical.ReadOperation, "export/encryption-key/ed", nil)
	wantErr(t, "encryption key of ed25519", err, "encryption not supported")
	_, err = h.do(logical.ReadOperation, "export/bogus/ed", nil)
	wantErr(t, "bad type", err, "invalid export type")
	_, err = h.do(logical.UpdateOperation, "keys/ec/config", m("exportable", false))
	wantErr(t, "disable export", err, "cannot be disabled")
}

func TestBackupRestoreAcrossMounts(t *testing.T) {
	src := newHarness(t)
	src.write("keys/k", "exportable", true, "allow_plaintext_backup", true)
	ct1 := src.write("encrypt/k", "plaintext", enc("v1 data")).Data["ciphertext"]
	src.write("keys/k/rotate")
	src.write("keys/k/config", "min_decryption_version", 1)
	backup := src.must(logical.ReadOperation, "backup/k", nil).Data["backup"].(string)

	dst := newHarnessOn(t, inmem.New())
	dst.write("restore", "backup", backup)
	if got := dec(t, dst.write("decrypt/k", "ciphertext", ct1).Data["plaintext"]); got != "v1 data" {
		t.Errorf("restored key decrypts %q", got)
	}
	if v := dst.write("encrypt/k", "plaintext", enc("x")).Data["key_version"]; v != 2 {
		t.Errorf("restored latest version %v", v)
	}
	wantErr(t, "restore over existing", dst.writeErr("restore", "backup", backup), "already exists")
	dst.write("restore", "backup", backup, "force", true)
	dst.write("restore/renamed", "backup", backup)
	if got := dec(t, dst.write("decrypt/renamed", "ciphertext", ct1).Data["plaintext"]); got != "v1 data" {
		t.Errorf("renamed restore decrypts %q", got)
	}
	wantErr(t, "garbage", dst.writeErr("restore", "backup", "bm90IGpzb24="), "invalid backup")

	src.write("keys/nobackup")
	_, err := src.do(logical.ReadOperation, "backup/nobackup", nil)
	wantErr(t, "backup not allowed", err, "disallowed")
}

func TestHashAndRandom(t *testing.T) {
	h := newHarness(t)
	sum := h.write("hash", "input", enc("abc")).Data["sum"]
	if sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha2-256 = %v", sum)
	}
	sum = h.write("hash/sha3-256", "input", enc("abc"), "format", "base64").Data["sum"]
	if sum != "Ophdp0/iJbIEXBcta9OQvYVfCG4+nVJbRr/iRRFDFTI=" {
		t.Errorf("sha3-256 = %v", sum)
	}
	wantErr(t, "bad alg", h.writeErr("hash/md5", "input", enc("abc")), "unsupported algorithm")
	wantErr(t, "bad format", h.writeErr("hash", "input", enc("abc"), "format", "raw"), "encoding format")

	for path, n := range map[string]int{"random": 32, "random/16": 16, "random/all/8": 8, "random/platform": 32} {
		raw, _ := base64.StdEncoding.DecodeString(h.write(path).Data["random_bytes"].(string))
		if len(raw) != n {
			t.Errorf("%s: %d bytes, want %d", path, len(raw), n)
		}
	}
	if hx := h.write("random/4", "format", "hex").Data["random_bytes"].(string); len(hx) != 8 {
		t.Errorf("hex random %q", hx)
	}
	wantErr(t, "too many", h.writeErr("random/9999999"), "too large")
	wantErr(t, "bad source", h.writeErr("random/moon/4"), "entropy source")
}

func TestCacheConfig(t *testing.T) {
	h := newHarness(t)
	if got := h.must(logical.ReadOperation, "cache-config", nil).Data["size"]; got != 0 {
		t.Errorf("default size %v", got)
	}
	wantErr(t, "too small", h.writeErr("cache-config", "size", 5), "greater or equal to 10")
	h.write("cache-config", "size", 10)
	for i := range 30 {
		h.write("keys/k" + string(rune('a'+i)))
	}
	h.b.keys.mu.RLock()
	n := len(h.b.keys.slots)
	h.b.keys.mu.RUnlock()
	if n > 10 {
		t.Errorf("cache holds %d keys, bound 10", n)
	}
	// Evicted keys reload from storage.
	if got := dec(t, h.write("decrypt/ka", "ciphertext", h.write("encrypt/ka", "plaintext", enc("x")).Data["ciphertext"]).Data["plaintext"]); got != "x" {
		t.Errorf("after eviction: %q", got)
	}
	h2 := newHarnessOn(t, h.s)
	if h2.b.keys.size.Load() != 10 {
		t.Error("cache size not loaded at mount")
	}
}
