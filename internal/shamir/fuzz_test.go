package shamir

import (
	"bytes"
	"testing"
)

// FuzzCombine feeds Combine arbitrary share sets: it must return a secret
// or an error, never panic. The input is cut into shares at 0xFF bytes so
// the fuzzer controls count, lengths and x-coordinates.
func FuzzCombine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0xFF, 3, 4})
	f.Add([]byte{1, 2, 0xFF, 3, 2})
	f.Add([]byte{0, 0xFF, 0})
	f.Add([]byte{9, 8, 7, 1, 0xFF, 6, 5, 4, 2, 0xFF, 3, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		shares := bytes.Split(data, []byte{0xFF})
		secret, err := Combine(shares)
		if err == nil && len(secret) != len(shares[0])-1 {
			t.Fatalf("secret is %d bytes from %d-byte shares", len(secret), len(shares[0]))
		}
	})
}

// FuzzSplitCombine checks that any valid split recovers its secret from the
// first threshold shares and from all of them.
func FuzzSplitCombine(f *testing.F) {
	f.Add([]byte("root key"), uint8(5), uint8(3))
	f.Add([]byte{0}, uint8(1), uint8(1))
	f.Add(bytes.Repeat([]byte{0xAA}, 64), uint8(255), uint8(10))
	f.Fuzz(func(t *testing.T, secret []byte, parts, threshold uint8) {
		shares, err := Split(secret, int(parts), int(threshold))
		if err != nil {
			if len(secret) > 0 && parts > 0 && threshold > 0 && threshold <= parts {
				t.Fatalf("Split(%d bytes, %d, %d): %v", len(secret), parts, threshold, err)
			}
			return
		}
		for _, set := range [][][]byte{shares[:threshold], shares} {
			got, err := Combine(set)
			if err != nil {
				t.Fatalf("Combine(%d shares): %v", len(set), err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("Combine(%d shares) gave a different secret", len(set))
			}
		}
	})
}
