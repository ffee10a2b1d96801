package transit

import (
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// FuzzDecrypt feeds arbitrary ciphertexts, signatures and HMACs to a real
// key: every input must answer a value or a client error, never panic or
// an internal error.
func FuzzDecrypt(f *testing.F) {
	h := newHarness(f)
	h.write("keys/aes")
	h.write("keys/ec", "type", "ecdsa-p256")
	good := h.write("encrypt/aes", "plaintext", enc("x")).Data["ciphertext"].(string)
	sig := h.write("sign/ec", "input", enc("x")).Data["signature"].(string)
	for _, s := range []string{good, sig, "vault:v1:", "vault:v0:AAAA", "vault:v99999999999999999999:AA", "vault::", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, req := range []struct{ path, field, key string }{
			{"decrypt/aes", "ciphertext", ""},
			{"verify/aes", "hmac", ""},
			{"verify/ec", "signature", ""},
		} {
			_, err := h.do(logical.UpdateOperation, req.path, m(req.field, s, "input", enc("x")))
			if err != nil {
				if _, ok := logical.AsError(err); !ok {
					t.Fatalf("%s with %q: internal error %v", req.path, s, err)
				}
			}
		}
	})
}
