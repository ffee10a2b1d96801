package server

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestRequiredIndex(t *testing.T) {
	a, b := encodeIndex(7), encodeIndex(42)
	forged := base64.StdEncoding.EncodeToString([]byte("v1:tresor:9:0:" + strings.Repeat("0", 64))) // wrong MAC
	tests := []struct {
		name   string
		values []string
		want   uint64
		ok     bool
	}{
		{"none", nil, 0, false},
		{"one", []string{a}, 7, true},
		{"highest of two headers", []string{a, b}, 42, true},
		{"highest in one comma list", []string{b + ", " + a}, 42, true},
		{"empty value", []string{""}, 0, false},
		{"not base64", []string{"%%%"}, 0, false},
		{"damaged", []string{a, forged}, 0, false},
		{"wrong shape", []string{"djE6eA=="}, 0, false}, // "v1:x"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := requiredIndex(tt.values)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("requiredIndex(%q) = %d, %v; want %d, %v", tt.values, got, ok, tt.want, tt.ok)
			}
		})
	}
	// The Vault API client reads the header as Vault Enterprise's.
	st, err := api.ParseReplicationState(b, nil)
	if err != nil || st.LocalIndex != 42 {
		t.Fatalf("ParseReplicationState = %+v, %v", st, err)
	}
}

// FuzzDecodeIndex: X-Vault-Index comes from clients. Whatever it holds,
// decoding never panics, and what encodes decodes to the same index.
func FuzzDecodeIndex(f *testing.F) {
	f.Add(encodeIndex(1), uint64(1))
	f.Add("djE6dHJlc29yOjE6MDp4", uint64(0))
	f.Add("", uint64(1<<63))
	f.Fuzz(func(t *testing.T, v string, n uint64) {
		_, _ = decodeIndex(v)
		_, _ = requiredIndex([]string{v})
		if got, ok := decodeIndex(encodeIndex(n)); !ok || got != n {
			t.Fatalf("round trip of %d = %d, %v", n, got, ok)
		}
	})
}

// BenchmarkRequiredIndex is the per-request cost of reading a client's
// X-Vault-Index on a standby.
func BenchmarkRequiredIndex(b *testing.B) {
	v := []string{encodeIndex(123456789)}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := requiredIndex(v); !ok {
			b.Fatal("not parsed")
		}
	}
}

func TestStandbyReadable(t *testing.T) {
	req := func(method, path string, body string, hdr ...string) *http.Request {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"kv read", req("GET", "/v1/secret/data/a", ""), true},
		{"list method", req("LIST", "/v1/secret/metadata/", ""), true},
		{"write", req("POST", "/v1/secret/data/a", `{"data":{}}`), false},
		{"read with a body", req("GET", "/v1/secret/data/a", `{}`), false},
		{"system path", req("GET", "/v1/sys/mounts", ""), false},
		{"auth path", req("GET", "/v1/auth/token/lookup-self", ""), false},
		{"identity", req("GET", "/v1/identity/entity/id/x", ""), false},
		{"cubbyhole", req("GET", "/v1/cubbyhole/x", ""), false},
		{"wrapped", req("GET", "/v1/secret/data/a", "", "X-Vault-Wrap-TTL", "60s"), false},
		{"asks for the active node", req("GET", "/v1/secret/data/a", "", "X-Vault-Inconsistent", "forward-active-node"), false},
	}
	for _, tt := range tests {
		if got := standbyReadable(tt.r); got != tt.want {
			t.Errorf("%s: standbyReadable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
