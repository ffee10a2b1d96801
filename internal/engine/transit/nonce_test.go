package transit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestBatchNonces: a batch draws its items' nonces in blocks; every item
// still gets its own. 1,000 identical plaintexts (more than one 4 KiB
// block of nonces) encrypt to 1,000 different nonces, and each ciphertext
// decrypts.
func TestBatchNonces(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	items := make([]json.RawMessage, 1000)
	for i := range items {
		items[i] = json.RawMessage(`{"plaintext":"` + enc("same") + `"}`)
	}
	resp := h.write("encrypt/k", "batch_input", items)
	raw, err := json.Marshal(resp.Data["batch_results"])
	if err != nil {
		t.Fatal(err)
	}
	var results []struct{ Ciphertext, Error string }
	if err := json.Unmarshal(raw, &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(items) {
		t.Fatalf("%d results", len(results))
	}
	seen := map[string]bool{}
	var back []any
	for i, r := range results {
		if r.Error != "" {
			t.Fatalf("item %d: %s", i, r.Error)
		}
		payload, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Ciphertext, "vault:v1:"))
		if err != nil || len(payload) < 12 {
			t.Fatalf("item %d: ciphertext %q", i, r.Ciphertext)
		}
		nonce := string(payload[:12])
		if seen[nonce] {
			t.Fatalf("item %d reuses a nonce", i)
		}
		seen[nonce] = true
		back = append(back, map[string]any{"ciphertext": r.Ciphertext})
	}
	out, err := json.Marshal(h.write("decrypt/k", "batch_input", back).Data["batch_results"])
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), `"plaintext":"`+enc("same")+`"`); n != len(items) {
		t.Errorf("%d of %d decrypt", n, len(items))
	}
}

// TestNonces: reads hand out consecutive, never repeated slices of the
// drawn blocks, whatever the nonce size, and a block never exceeds
// maxNonceBlock.
func TestNonces(t *testing.T) {
	for _, size := range []int{12, 24, 5000} {
		ns := &nonces{left: 1000}
		var all [][]byte
		for i := 0; i < 1000; i++ {
			out := make([]byte, size)
			if err := ns.read(out); err != nil {
				t.Fatal(err)
			}
			if size <= maxNonceBlock && len(ns.block) > maxNonceBlock {
				t.Fatalf("size %d: block of %d bytes", size, len(ns.block))
			}
			for _, prev := range all {
				if bytes.Equal(prev, out) {
					t.Fatalf("size %d: nonce %d repeats", size, i)
				}
			}
			all = append(all, out)
			ns.next()
		}
	}
	var nilSource *nonces
	a, b := make([]byte, 12), make([]byte, 12)
	if nilSource.read(a) != nil || nilSource.read(b) != nil || bytes.Equal(a, b) {
		t.Error("reads without a batch source")
	}
}
