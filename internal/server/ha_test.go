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
