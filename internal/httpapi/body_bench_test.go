package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// batchBody is a transit-style body of 100 batch items.
func batchBody(b *testing.B) []byte {
	b.Helper()
	items := make([]map[string]string, 100)
	for i := range items {
		items[i] = map[string]string{"plaintext": base64.StdEncoding.EncodeToString([]byte("a secret of some thirty bytes."))}
	}
	raw, err := json.Marshal(map[string]any{"batch_input": items})
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDecodeBatchBody decodes a transit-style body of 100 batch items:
// the bounds check and the decode every large request pays.
func BenchmarkDecodeBatchBody(b *testing.B) {
	raw := batchBody(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeJSONObject(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckJSON is the syntax and bounds check alone on the body of
// BenchmarkDecodeBatchBody: one pass (checkJSON) against the bounds walk
// followed by json.Valid (checkJSONShape) it replaces.
func BenchmarkCheckJSON(b *testing.B) {
	raw := batchBody(b)
	for _, bc := range []struct {
		name  string
		check func([]byte) error
	}{{"OnePass", checkJSON}, {"ShapeThenValid", checkJSONShape}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.check(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
