package server

import (
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestIndexHeaderShape: the X-Vault-Index value parses with the Vault API
// client's own parser, and newer indexes merge as newer.
func TestIndexHeaderShape(t *testing.T) {
	for _, n := range []uint64{0, 1, 12345, 1 << 62} {
		st, err := api.ParseReplicationState(encodeIndex(n), nil)
		if err != nil {
			t.Fatalf("index %d: %v", n, err)
		}
		if st.LocalIndex != n {
			t.Fatalf("index %d parsed as %d", n, st.LocalIndex)
		}
	}
	merged := api.MergeReplicationStates([]string{encodeIndex(5)}, encodeIndex(9))
	if len(merged) != 1 || merged[0] != encodeIndex(9) {
		t.Fatalf("merge = %v", merged)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://127.0.0.1:8201": "127.0.0.1:8201",
		"127.0.0.1:8201":         "127.0.0.1:8201",
		"http://[::1]:8201":      "[::1]:8201",
	} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIndexValueCache: the cached value is encodeIndex's for every index,
// whether the index repeats, moves on or goes back.
func TestIndexValueCache(t *testing.T) {
	var c cluster
	for _, n := range []uint64{7, 7, 8, 8, 8, 3, 1 << 62, 7} {
		if got, want := c.indexValue(n), encodeIndex(n); got != want {
			t.Fatalf("indexValue(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkIndexValue: the header of a response whose index repeats (the
// common case: writes sharing a log entry, reads between entries) against
// making it afresh.
func BenchmarkIndexValue(b *testing.B) {
	b.Run("repeated", func(b *testing.B) {
		var c cluster
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c.indexValue(uint64(i / 16))
		}
	})
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			encodeIndex(uint64(i / 16))
		}
	})
}
