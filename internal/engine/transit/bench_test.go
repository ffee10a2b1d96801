package transit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

func benchBatch(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"plaintext": enc(fmt.Sprintf("card-number-%08d", i))}
	}
	return items
}

// benchRawBatch is benchBatch as the HTTP layer hands it over: the items'
// JSON text, undecoded.
func benchRawBatch(n int) []json.RawMessage {
	items := make([]json.RawMessage, n)
	for i := range items {
		items[i] = json.RawMessage(`{"plaintext":"` + enc(fmt.Sprintf("card-number-%08d", i)) + `"}`)
	}
	return items
}

func BenchmarkEncrypt(b *testing.B) {
	h := newHarness(b)
	h.write("keys/k")
	ctx := context.Background()
	pt := enc("4111 1111 1111 1111")
	b.ReportAllocs()
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: "encrypt/k", Storage: h.s, Data: map[string]any{"plaintext": pt}}
		if _, err := h.b.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptBatch100(b *testing.B) { benchEncryptBatch(b, benchBatch(100)) }

// BenchmarkEncryptBatch100Raw is BenchmarkEncryptBatch100 with the items
// in the form an HTTP body's batch_input reaches the engine.
func BenchmarkEncryptBatch100Raw(b *testing.B) { benchEncryptBatch(b, benchRawBatch(100)) }

// benchEncryptBatch encrypts items as one batch_input per iteration.
func benchEncryptBatch(b *testing.B, items any) {
	h := newHarness(b)
	h.write("keys/k")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: "encrypt/k", Storage: h.s, Data: map[string]any{"batch_input": items}}
		if _, err := h.b.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	h := newHarness(b)
	h.write("keys/k")
	ct := h.write("encrypt/k", "plaintext", enc("4111 1111 1111 1111")).Data["ciphertext"]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: "decrypt/k", Storage: h.s, Data: map[string]any{"ciphertext": ct}}
		if _, err := h.b.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignECDSAP256(b *testing.B) {
	h := newHarness(b)
	h.write("keys/k", "type", "ecdsa-p256")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: "sign/k", Storage: h.s, Data: map[string]any{"input": enc("payload")}}
		if _, err := h.b.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineStdlibSeal is the floor for BenchmarkEncrypt: AES-256-GCM
// over the same plaintext with the standard library, nonce and base64 included.
func BenchmarkBaselineStdlibSeal(b *testing.B) {
	blk, _ := aes.NewCipher(randomBytes(32))
	a, _ := cipher.NewGCM(blk)
	pt := []byte("4111 1111 1111 1111")
	b.ReportAllocs()
	for b.Loop() {
		nonce := randomBytes(12)
		out := a.Seal(nonce, nonce, pt, nil)
		_ = "vault:v1:" + base64.StdEncoding.EncodeToString(out)
	}
}
