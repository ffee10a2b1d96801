package transit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// rawItems splits a JSON list of objects into raw items, the form the HTTP
// layer hands batch_input over in.
func rawItems(t testing.TB, list string) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(list), &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// decodedItems is list decoded as the HTTP layer decodes other bodies.
func decodedItems(t testing.TB, list string) []any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(list))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		t.Fatal(err)
	}
	return items
}

// wire is a response as a client receives it.
func wire(t testing.TB, resp *logical.Response, err error) string {
	t.Helper()
	if err != nil {
		return "error: " + err.Error()
	}
	raw, merr := json.Marshal(map[string]any{"status": resp.StatusCode, "data": resp.Data, "warnings": resp.Warnings})
	if merr != nil {
		t.Fatal(merr)
	}
	return string(raw)
}

// TestBatchRawItems runs batches given as raw items (an HTTP body's
// batch_input) and as decoded maps (the same JSON decoded generically):
// every endpoint answers the same, item errors, references and statuses
// included. Encryption uses a convergent key so that ciphertexts compare.
func TestBatchRawItems(t *testing.T) {
	h := newHarness(t)
	h.write("keys/c", "derived", true, "convergent_encryption", true)
	h.write("keys/ed", "type", "ed25519")
	h.write("keys/h", "type", "hmac")
	ctx := enc("ctx")
	ct := h.write("encrypt/c", "plaintext", enc("secret"), "context", ctx).Data["ciphertext"].(string)
	sig := h.write("sign/ed", "input", enc("msg")).Data["signature"].(string)
	mac := h.write("hmac/h", "input", enc("msg")).Data["hmac"].(string)
	tests := []struct{ path, items string }{
		{"encrypt/c", `[{"plaintext":"` + enc("a") + `","context":"` + ctx + `","reference":"r1"},` +
			`{"plaintext":"` + enc("b") + `","context":"` + ctx + `","key_version":"1","reference":"caf\u00e9 <&> \"q\""},` +
			`{"plaintext":"` + enc("c") + `","context":"` + ctx + `","key_version":1,"reference":null},` +
			`{"plaintext":"%%","context":"` + ctx + `"},` +
			`{"plaintext":"` + enc("d") + `"},` +
			`{"plaintext":true,"context":"` + ctx + `"},` +
			`{"plaintext":"` + enc("e") + `","context":"` + ctx + `","key_version":2},` +
			`{"plaintext":"` + enc("f") + `","context":"` + ctx + `","key_version":1.5},` +
			`{"plaintext":"` + enc("g") + `","context":"` + ctx + `","plaintext":"` + enc("dup") + `"},` +
			`{"plaintext":"YQ\u003d\u003d","context":"` + ctx + `"},` +
			`{"context":"` + ctx + `","reference":{"nested":1}},` +
			`{}]`},
		{"encrypt/c", `[{"plaintext":"` + enc("a") + `","context":"` + ctx + `"}]`},
		{"decrypt/c", `[{"ciphertext":"` + ct + `","context":"` + ctx + `","reference":"x"},{"ciphertext":"nope","context":"` + ctx + `"},{"ciphertext":7}]`},
		{"rewrap/c", `[{"ciphertext":"` + ct + `","context":"` + ctx + `"},{"ciphertext":"` + ct + `"}]`},
		{"sign/ed", `[{"input":"` + enc("m1") + `","reference":"s"},{"input":"**"}]`},
		{"verify/ed", `[{"input":"` + enc("msg") + `","signature":"` + sig + `"},{"input":"` + enc("other") + `","signature":"` + sig + `"},{"input":"` + enc("msg") + `","signature":[]}]`},
		{"hmac/h", `[{"input":"` + enc("m1") + `"},{"input":"` + enc("m2") + `","key_version":"x"}]`},
		{"verify/h", `[{"input":"` + enc("msg") + `","hmac":"` + mac + `"}]`},
	}
	for _, tc := range tests {
		for _, partial := range []any{nil, 207} {
			raw := m("batch_input", rawItems(t, tc.items), "partial_failure_response_code", partial)
			decoded := m("batch_input", decodedItems(t, tc.items), "partial_failure_response_code", partial)
			resp, err := h.do(logical.UpdateOperation, tc.path, raw)
			got := wire(t, resp, err)
			resp, err = h.do(logical.UpdateOperation, tc.path, decoded)
			want := wire(t, resp, err)
			if got != want {
				t.Errorf("%s %s (partial %v):\nraw     %s\ndecoded %s", tc.path, tc.items, partial, got, want)
			}
		}
	}
}

// TestBatchRawRandomNonce checks a raw batch with random nonces: every
// ciphertext decrypts to its item's plaintext, in order.
func TestBatchRawRandomNonce(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	var list strings.Builder
	list.WriteString("[")
	for i := range 50 {
		if i > 0 {
			list.WriteString(",")
		}
		list.WriteString(`{"plaintext":"` + enc(strings.Repeat("x", i)) + `"}`)
	}
	list.WriteString("]")
	resp := h.write("encrypt/k", "batch_input", rawItems(t, list.String()))
	if resp.StatusCode != 0 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for i, r := range batchResults(t, resp) {
		pt := h.write("decrypt/k", "ciphertext", r["ciphertext"]).Data["plaintext"]
		if dec(t, pt) != strings.Repeat("x", i) || r["key_version"] != 1.0 {
			t.Fatalf("item %d: %v", i, r)
		}
	}
}

// TestBatchResultsJSON pins that the results' own JSON is what
// encoding/json writes for the result structs.
func TestBatchResultsJSON(t *testing.T) {
	meta := []batchMeta{{}, {Reference: "r"}, {Error: "bad \"thing\" <&>", Reference: "caf\u00e9\u2028\x01"}, {Error: "internal error", internal: true}}
	var enc []encryptResult
	var dec []decryptResult
	var hm []hmacResult
	var sig []signResult
	var ver []verifyResult
	for i, m := range meta {
		enc = append(enc, encryptResult{Ciphertext: []string{"", "vault:v1:abc=", "vault:v2:x/y+z=", "<&>\u00e9"}[i%4], KeyVersion: i, batchMeta: m})
		dec = append(dec, decryptResult{Plaintext: []string{"", "cA=="}[i%2], batchMeta: m})
		hm = append(hm, hmacResult{HMAC: []string{"", "vault:v1:x"}[i%2], batchMeta: m})
		sig = append(sig, signResult{Signature: []string{"", "vault:v2:y"}[i%2], KeyVersion: i % 3, batchMeta: m})
		ver = append(ver, verifyResult{Valid: i%2 == 0, batchMeta: m})
	}
	for name, pair := range map[string][2]any{
		"encrypt": {enc, resultList[encryptResult, *encryptResult](enc)},
		"decrypt": {dec, resultList[decryptResult, *decryptResult](dec)},
		"hmac":    {hm, resultList[hmacResult, *hmacResult](hm)},
		"sign":    {sig, resultList[signResult, *signResult](sig)},
		"verify":  {ver, resultList[verifyResult, *verifyResult](ver)},
		"nil":     {[]verifyResult(nil), resultList[verifyResult, *verifyResult](nil)},
	} {
		want, err := json.Marshal(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		appended := pair[1].(interface{ AppendJSON([]byte) []byte }).AppendJSON([]byte("x"))
		if string(appended) != "x"+string(want) {
			t.Errorf("%s: AppendJSON %s", name, appended)
		}
	}
}

// FuzzAppendJSONString checks the string encoding against encoding/json's.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"uote\\", "<&>", "\u2028\u2029", "\x00\x1f\x7f", "\xff", "caf\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
		if got := appendJSONBytes(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("%q as bytes: %s, want %s", s, got, want)
		}
	})
}

// TestBatchRawAllocs bounds the allocations of a 100-item raw batch, the
// point of reading items raw: a handful per batch, not several per item.
func TestBatchRawAllocs(t *testing.T) {
	h := newHarness(t)
	h.write("keys/k")
	items := benchRawBatch(100)
	allocs := testing.AllocsPerRun(20, func() {
		resp, err := h.do(logical.UpdateOperation, "encrypt/k", map[string]any{"batch_input": items})
		if err != nil || resp.StatusCode != 0 {
			t.Fatalf("%v %v", resp, err)
		}
	})
	// Today about 30: the request, the key lookup, the results, the text
	// buffer and its strings. A bound well above that catches a return
	// to per-item allocations without pinning the exact figure.
	if allocs > 100 {
		t.Errorf("%v allocations for a 100-item batch, want at most 100", allocs)
	}
}

// BenchmarkAppendJSONBytes writes a 100-item batch's ciphertexts as JSON
// strings: the escape check every result's text goes through, by table
// lookup (appendJSONBytes) and by the comparisons it replaced.
func BenchmarkAppendJSONBytes(b *testing.B) {
	text := []byte("vault:v1:" + strings.Repeat("QUJDREVGR0hJSktMTU5PUA+/", 3))
	compare := func(b []byte, text []byte) []byte {
		for _, c := range text {
			if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendJSONString(b, string(text))
			}
		}
		b = append(b, '"')
		b = append(b, text...)
		return append(b, '"')
	}
	for _, bc := range []struct {
		name string
		fn   func([]byte, []byte) []byte
	}{{"Table", appendJSONBytes}, {"Compare", compare}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 100*(len(text)+2))
			for b.Loop() {
				buf = buf[:0]
				for range 100 {
					buf = bc.fn(buf, text)
				}
			}
		})
	}
}
