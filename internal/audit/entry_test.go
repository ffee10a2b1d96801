package audit_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/logical"
)

func TestFileNeverHoldsSecretsInClear(t *testing.T) {
	d, path := newFile(t, nil)
	logBoth(t, d, fullInput())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range canaries {
		if bytes.Contains(raw, []byte(c)) {
			t.Errorf("%q appears in clear in the log", c)
		}
		if h := d.Hash(c); !bytes.Contains(raw, []byte(h)) {
			t.Errorf("hash of %q (%s) not found in the log", c, h)
		}
	}
}

func TestEntryFields(t *testing.T) {
	d, path := newFile(t, nil)
	in := fullInput()
	logBoth(t, d, in)
	es := entries(t, path)
	if len(es) != 2 {
		t.Fatalf("got %d entries, want 2", len(es))
	}
	req, resp := es[0], es[1]
	h := d.Hash
	tests := []struct {
		name  string
		entry map[string]any
		keys  []string
		want  any
	}{
		{"type request", req, []string{"type"}, "request"},
		{"type response", resp, []string{"type"}, "response"},
		{"auth client token hashed", req, []string{"auth", "client_token"}, h(canaryToken)},
		{"auth accessor hashed", req, []string{"auth", "accessor"}, h(canaryAccessor)},
		{"auth display name clear", req, []string{"auth", "display_name"}, "userpass-alice"},
		{"auth metadata clear", req, []string{"auth", "metadata", "username"}, "alice"},
		{"auth token ttl in seconds", req, []string{"auth", "token_ttl"}, float64(768 * 3600)},
		{"request id", req, []string{"request", "id"}, "5e1b7c1e-req"},
		{"request operation", req, []string{"request", "operation"}, "update"},
		{"request path", req, []string{"request", "path"}, "secret/data/app"},
		{"request mount type", req, []string{"request", "mount_type"}, "kv"},
		{"request mount accessor", req, []string{"request", "mount_accessor"}, "kv_1234"},
		{"request namespace", req, []string{"request", "namespace", "id"}, "root"},
		{"request client token hashed", req, []string{"request", "client_token"}, h(canaryToken)},
		{"request client token accessor hashed", req, []string{"request", "client_token_accessor"}, h(canaryAccessor)},
		{"request remote address", req, []string{"request", "remote_address"}, "10.0.0.7"},
		{"request remote port", req, []string{"request", "remote_port"}, float64(51234)},
		{"request wrap ttl", req, []string{"request", "wrap_ttl"}, float64(60)},
		{"request data string hashed", req, []string{"request", "data", "password"}, h(canarySecret)},
		{"request data number clear", req, []string{"request", "data", "count"}, float64(7)},
		{"audited header recorded", req, []string{"request", "headers", "x-request-id"}, []any{"abc"}},
		{"unaudited header dropped", req, []string{"request", "headers", "x-vault-token"}, nil},
		{"request entry has no response", req, []string{"response"}, nil},
		{"response data hashed", resp, []string{"response", "data", "value"}, h(canarySecret)},
		{"response data number clear", resp, []string{"response", "data", "ttl"}, float64(3600)},
		{"response mount type", resp, []string{"response", "mount_type"}, "kv"},
		{"response auth token hashed", resp, []string{"response", "auth", "client_token"}, h(canaryNewToken)},
		{"response auth ttl", resp, []string{"response", "auth", "token_ttl"}, float64(3600)},
		{"response lease id hashed", resp, []string{"response", "secret", "lease_id"}, h(canaryLeaseID)},
		{"response wrap token hashed", resp, []string{"response", "wrap_info", "token"}, h(canaryWrapToken)},
		{"response wrap accessor hashed", resp, []string{"response", "wrap_info", "accessor"}, h(canaryAccessor)},
		{"response warnings clear", resp, []string{"response", "warnings"}, []any{"a warning"}},
		{"response carries the request", resp, []string{"request", "path"}, "secret/data/app"},
		{"no error", resp, []string{"error"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := field(tt.entry, tt.keys...)
			if !equalJSON(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tt.keys, "."), got, tt.want)
			}
		})
	}
	nested := field(req, "request", "data", "nested", "list").([]any)
	if nested[0] != h(canaryNested) || nested[1] != float64(42) || nested[2] != true {
		t.Errorf("nested list = %v: want only the string hashed", nested)
	}
}

func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	if aok || bok {
		return false
	}
	return a == b
}

func TestHashingOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  map[string]string
		setup func(in *audit.Input)
		keys  []string
		clear string // expected clear value at keys
		typ   int    // entry index: 0 request, 1 response
	}{
		{
			name:  "non-HMAC request key stays clear",
			setup: func(in *audit.Input) { in.NonHMACRequestKeys = []string{"password"} },
			keys:  []string{"request", "data", "password"}, clear: canarySecret,
		},
		{
			name:  "non-HMAC response key stays clear",
			setup: func(in *audit.Input) { in.NonHMACResponseKeys = []string{"value"} },
			keys:  []string{"response", "data", "value"}, clear: canarySecret, typ: 1,
		},
		{
			name: "log_raw hashes no data",
			opts: map[string]string{"log_raw": "true"},
			keys: []string{"request", "data", "password"}, clear: canarySecret,
		},
		{
			name: "log_raw hashes no token",
			opts: map[string]string{"log_raw": "true"},
			keys: []string{"auth", "client_token"}, clear: canaryToken,
		},
		{
			name: "hmac_accessor=false leaves accessors clear",
			opts: map[string]string{"hmac_accessor": "false"},
			keys: []string{"request", "client_token_accessor"}, clear: canaryAccessor,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, path := newFile(t, tt.opts)
			in := fullInput()
			if tt.setup != nil {
				tt.setup(in)
			}
			logBoth(t, d, in)
			if got := field(entries(t, path)[tt.typ], tt.keys...); got != tt.clear {
				t.Errorf("%s = %v, want %q in clear", strings.Join(tt.keys, "."), got, tt.clear)
			}
		})
	}
}

func TestHashAccessorFalseStillHashesTokens(t *testing.T) {
	d, path := newFile(t, map[string]string{"hmac_accessor": "false"})
	logBoth(t, d, fullInput())
	if got := field(entries(t, path)[0], "request", "client_token"); got != d.Hash(canaryToken) {
		t.Errorf("client_token = %v, want hashed", got)
	}
}

func TestAuthFromRequestToken(t *testing.T) {
	d, path := newFile(t, nil)
	in := fullInput()
	in.Auth = nil
	in.Request.Token = &logical.TokenInfo{Accessor: canaryAccessor, Policies: []string{"default"}, DisplayName: "token"}
	logBoth(t, d, in)
	e := entries(t, path)[0]
	if got := field(e, "auth", "accessor"); got != d.Hash(canaryAccessor) {
		t.Errorf("auth.accessor = %v, want the hashed accessor", got)
	}
	if got := field(e, "auth", "display_name"); got != "token" {
		t.Errorf("auth.display_name = %v, want \"token\"", got)
	}
}

func TestDeniedRequestEntry(t *testing.T) {
	d, path := newFile(t, nil)
	in := fullInput()
	in.Response = nil
	in.Err = logical.ErrPermissionDenied
	logBoth(t, d, in)
	for _, e := range entries(t, path) {
		if got := e["error"]; got != "permission denied" {
			t.Errorf("%v entry error = %v, want \"permission denied\"", e["type"], got)
		}
	}
}

func TestPrefix(t *testing.T) {
	d, path := newFile(t, map[string]string{"prefix": "@cee: "})
	logBoth(t, d, fullInput())
	raw, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if !strings.HasPrefix(line, `@cee: {"time":`) {
			t.Errorf("line %.40q... does not start with the prefix and the entry", line)
		}
	}
}

func TestJSONx(t *testing.T) {
	d, path := newFile(t, map[string]string{"format": "jsonx"})
	logBoth(t, d, fullInput())
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2", len(lines))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, `<?xml version="1.0" encoding="UTF-8"?><json:object xmlns:json=`) {
			t.Errorf("line %.80q does not start a JSONx document", line)
		}
		dec := xml.NewDecoder(strings.NewReader(line))
		for {
			if _, err := dec.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("not well-formed XML: %v", err)
				}
				break
			}
		}
		if !strings.Contains(line, `<json:string name="type">`) || !strings.Contains(line, d.Hash(canarySecret)) {
			t.Errorf("JSONx line lacks the type or the hashed secret")
		}
		if strings.Contains(line, canarySecret) {
			t.Errorf("secret in clear in JSONx")
		}
	}
	if !strings.Contains(lines[0], `<json:number name="count">7</json:number>`) {
		t.Errorf("number not rendered as json:number")
	}
}
