package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// publicKey reads version 1's public key from keys/<name>.
func publicKey(t *testing.T, h *harness, name string) crypto.PublicKey {
	t.Helper()
	d := h.must(logical.ReadOperation, "keys/"+name, nil).Data
	text := d["keys"].(map[string]any)["1"].(map[string]any)["public_key"].(string)
	if d["type"] == typeEd25519 {
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		return ed25519.PublicKey(raw)
	}
	blk, _ := pem.Decode([]byte(text))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func sigBytes(t *testing.T, sig string, jws bool) []byte {
	t.Helper()
	payload := strings.TrimPrefix(sig, "vault:v1:")
	var raw []byte
	var err error
	if jws {
		raw, err = base64.RawURLEncoding.DecodeString(payload)
	} else {
		raw, err = base64.StdEncoding.DecodeString(payload)
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSignaturesVerifyWithStdlib checks every signing variant against the
// standard library with the public key the engine publishes.
func TestSignaturesVerifyWithStdlib(t *testing.T) {
	h := newHarness(t)
	input := []byte("the message")
	sum256 := sha256.Sum256(input)
	sum512 := sha512.Sum512(input)
	for _, typ := range []string{typeEd25519, typeECDSAP256, typeECDSAP384, typeECDSAP521, typeRSA2048} {
		h.write("keys/"+typ, "type", typ)
	}
	cases := map[string]struct {
		key    string
		kv     []any
		path   string
		verify func(pub crypto.PublicKey, sig string) bool
	}{
		"ed25519": {typeEd25519, nil, "", func(pub crypto.PublicKey, sig string) bool {
			return ed25519.Verify(pub.(ed25519.PublicKey), input, sigBytes(t, sig, false))
		}},
		"ecdsa p256 asn1": {typeECDSAP256, nil, "", func(pub crypto.PublicKey, sig string) bool {
			return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum256[:], sigBytes(t, sig, false))
		}},
		"ecdsa p384 sha2-512 in path": {typeECDSAP384, nil, "/sha2-512", func(pub crypto.PublicKey, sig string) bool {
			return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum512[:], sigBytes(t, sig, false))
		}},
		"ecdsa p521 jws": {typeECDSAP521, []any{"marshaling_algorithm", "jws"}, "", func(pub crypto.PublicKey, sig string) bool {
			raw := sigBytes(t, sig, true)
			if len(raw) != 132 {
				return false
			}
			r, s := new(big.Int).SetBytes(raw[:66]), new(big.Int).SetBytes(raw[66:])
			return ecdsa.Verify(pub.(*ecdsa.PublicKey), sum256[:], r, s)
		}},
		"ecdsa prehashed": {typeECDSAP256, []any{"prehashed", true, "input", base64.StdEncoding.EncodeToString(sum256[:])}, "", func(pub crypto.PublicKey, sig string) bool {
			return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum256[:], sigBytes(t, sig, false))
		}},
		"rsa pss": {typeRSA2048, nil, "", func(pub crypto.PublicKey, sig string) bool {
			return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, sum256[:], sigBytes(t, sig, false), nil) == nil
		}},
		"rsa pss salt hash": {typeRSA2048, []any{"salt_length", "hash"}, "", func(pub crypto.PublicKey, sig string) bool {
			return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, sum256[:], sigBytes(t, sig, false), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}},
		"rsa pkcs1v15 sha2-512": {typeRSA2048, []any{"signature_algorithm", "pkcs1v15", "hash_algorithm", "sha2-512"}, "", func(pub crypto.PublicKey, sig string) bool {
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA512, sum512[:], sigBytes(t, sig, false)) == nil
		}},
		"rsa pkcs1v15 none": {typeRSA2048, []any{"signature_algorithm", "pkcs1v15", "hash_algorithm", "none"}, "", func(pub crypto.PublicKey, sig string) bool {
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), 0, input, sigBytes(t, sig, false)) == nil
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kv := append([]any{"input", base64.StdEncoding.EncodeToString(input)}, tc.kv...)
			resp := h.write("sign/"+tc.key+tc.path, kv...)
			sig := resp.Data["signature"].(string)
			if resp.Data["key_version"] != 1 || !strings.HasPrefix(sig, "vault:v1:") {
				t.Fatalf("sign: %v", resp.Data)
			}
			if !tc.verify(publicKey(t, h, tc.key), sig) {
				t.Errorf("stdlib rejects %s", sig)
			}
			// The engine verifies its own signature, and rejects it for other input.
			vk := append(append([]any{}, kv...), "signature", sig)
			if v := h.write("verify/"+tc.key+tc.path, vk...).Data["valid"]; v != true {
				t.Errorf("verify/ says %v", v)
			}
			other := enc("another message")
			if strings.Contains(name, "prehashed") {
				other = base64.StdEncoding.EncodeToString(make([]byte, 32))
			}
			vk = append(vk, "input", other)
			if v := h.write("verify/"+tc.key+tc.path, vk...).Data["valid"]; v != false {
				t.Errorf("verify/ of other input says %v", v)
			}
		})
	}
}

func TestSignErrorsAndBatch(t *testing.T) {
	h := newHarness(t)
	h.write("keys/aes")
	h.write("keys/ec", "type", "ecdsa-p256")
	h.write("keys/rsa", "type", "rsa-2048")
	wantErr(t, "aes", h.writeErr("sign/aes", "input", enc("x")), "not supported for key type aes256-gcm96")
	wantErr(t, "missing key", h.writeErr("sign/none", "input", enc("x")), "signing key not found")
	wantErr(t, "bad hash", h.writeErr("sign/ec", "input", enc("x"), "hash_algorithm", "md5"), "unsupported algorithm")
	wantErr(t, "pss none", h.writeErr("sign/rsa", "input", enc("x"), "hash_algorithm", "none"), "pkcs1v15")
	wantErr(t, "bad marshaling", h.writeErr("sign/ec", "input", enc("x"), "marshaling_algorithm", "der"), "marshaling")
	wantErr(t, "no prefix", h.writeErr("verify/ec", "input", enc("x"), "signature", "abc"), "no prefix")

	resp := h.write("sign/ec", "batch_input", []any{
		map[string]any{"input": enc("a"), "reference": "1"},
		map[string]any{"input": "%%%", "reference": "2"},
	})
	res := batchResults(t, resp)
	if resp.StatusCode != 400 || res[0]["signature"] == nil || res[1]["error"] == nil || res[1]["reference"] != "2" {
		t.Fatalf("batch sign: %d %v", resp.StatusCode, res)
	}
	v := batchResults(t, h.write("verify/ec", "batch_input", []any{
		map[string]any{"input": enc("a"), "signature": res[0]["signature"]},
		map[string]any{"input": enc("b"), "signature": res[0]["signature"]},
	}))
	if v[0]["valid"] != true || v[1]["valid"] != false {
		t.Errorf("batch verify: %v", v)
	}
}

func TestDerivedEd25519(t *testing.T) {
	h := newHarness(t)
	h.write("keys/e", "type", "ed25519", "derived", true)
	wantErr(t, "no context", h.writeErr("sign/e", "input", enc("x")), "missing 'context'")
	sig := h.write("sign/e", "input", enc("x"), "context", enc("a")).Data["signature"]
	if h.write("verify/e", "input", enc("x"), "context", enc("a"), "signature", sig).Data["valid"] != true {
		t.Error("derived signature does not verify")
	}
	if h.write("verify/e", "input", enc("x"), "context", enc("b"), "signature", sig).Data["valid"] != false {
		t.Error("derived signature verifies under another context")
	}
}

// TestHMACWithStdlib recomputes HMACs with the exported HMAC key.
func TestHMACWithStdlib(t *testing.T) {
	h := newHarness(t)
	for _, typ := range []string{typeHMAC, typeAES256, typeECDSAP256} {
		t.Run(typ, func(t *testing.T) {
			name := "h" + typ
			h.write("keys/"+name, "type", typ, "exportable", true)
			mac := h.write("hmac/"+name, "input", enc("data")).Data["hmac"].(string)
			keyText := h.must(logical.ReadOperation, "export/hmac-key/"+name, nil).Data["keys"].(map[string]string)["1"]
			key, _ := base64.StdEncoding.DecodeString(keyText)
			want := hmac.New(sha256.New, key)
			want.Write([]byte("data"))
			if mac != "vault:v1:"+base64.StdEncoding.EncodeToString(want.Sum(nil)) {
				t.Errorf("hmac %s differs from the stdlib's", mac)
			}
			if h.write("verify/"+name, "input", enc("data"), "hmac", mac).Data["valid"] != true {
				t.Error("verify hmac failed")
			}
			if h.write("verify/"+name, "input", enc("other"), "hmac", mac).Data["valid"] != false {
				t.Error("verify hmac of other input succeeded")
			}
			m512 := h.write("hmac/"+name+"/sha2-512", "input", enc("data")).Data["hmac"]
			if h.write("verify/"+name+"/sha2-512", "input", enc("data"), "hmac", m512).Data["valid"] != true {
				t.Error("sha2-512 hmac does not verify")
			}
		})
	}
	res := batchResults(t, h.write("hmac/hhmac", "batch_input", []any{map[string]any{"input": enc("a")}, map[string]any{"input": enc("b")}}))
	if len(res) != 2 || res[0]["hmac"] == res[1]["hmac"] {
		t.Errorf("batch hmac: %v", res)
	}
}
