package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"empty is zero", "", 0, false},
		{"plain seconds", "90", 90 * time.Second, false},
		{"go duration", "1h30m", 90 * time.Minute, false},
		{"surrounding space", " 60s ", time.Minute, false},
		{"negative seconds", "-1", 0, true},
		{"negative duration", "-5m", 0, true},
		{"words", "soon", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestRequestOptionFlags checks the headers -wrap-ttl, VAULT_WRAP_TTL,
// -policy-override and -header put on a request, and the refusals.
func TestRequestOptionFlags(t *testing.T) {
	f := newFakeVault(t)
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		wantCode    int
		wantHeaders map[string]string // "" means absent
		wantStderr  string
	}{
		{
			name:        "no wrapping by default",
			args:        []string{"read", "secret/foo"},
			wantHeaders: map[string]string{"X-Vault-Wrap-TTL": ""},
		},
		{
			name:        "wrap-ttl as a duration",
			args:        []string{"read", "-wrap-ttl=60s", "secret/foo"},
			wantHeaders: map[string]string{"X-Vault-Wrap-TTL": "1m0s"},
		},
		{
			name:        "wrap-ttl in seconds on a write",
			args:        []string{"write", "-wrap-ttl=90", "secret/foo", "a=b"},
			wantHeaders: map[string]string{"X-Vault-Wrap-TTL": "1m30s"},
		},
		{
			name:        "VAULT_WRAP_TTL is the default",
			env:         map[string]string{"VAULT_WRAP_TTL": "5m"},
			args:        []string{"read", "secret/foo"},
			wantHeaders: map[string]string{"X-Vault-Wrap-TTL": "5m0s"},
		},
		{
			name:        "the flag beats VAULT_WRAP_TTL",
			env:         map[string]string{"VAULT_WRAP_TTL": "5m"},
			args:        []string{"read", "-wrap-ttl=10s", "secret/foo"},
			wantHeaders: map[string]string{"X-Vault-Wrap-TTL": "10s"},
		},
		{
			name:        "policy override and extra headers",
			args:        []string{"read", "-policy-override", "-header=X-Trace=abc", "secret/foo"},
			wantHeaders: map[string]string{"X-Vault-Policy-Override": "true", "X-Trace": "abc"},
		},
		{
			name:       "bad wrap-ttl is a usage error",
			args:       []string{"read", "-wrap-ttl=later", "secret/foo"},
			wantCode:   1,
			wantStderr: "invalid duration",
		},
		{
			name:       "bad VAULT_WRAP_TTL is reported",
			env:        map[string]string{"VAULT_WRAP_TTL": "later"},
			args:       []string{"read", "secret/foo"},
			wantCode:   2,
			wantStderr: "could not parse VAULT_WRAP_TTL",
		},
		{
			name:       "X-Vault- headers are reserved",
			args:       []string{"read", "-header=X-Vault-Token=evil", "secret/foo"},
			wantCode:   2,
			wantStderr: "reserved",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"VAULT_ADDR": f.URL, "VAULT_TOKEN": "root"}
			for k, v := range tt.env {
				vars[k] = v
			}
			f.mu.Lock()
			f.lastReq = nil
			f.mu.Unlock()
			res := runCLI(t, "", vars, "", tt.args...)
			if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tt.wantCode, tt.wantStderr)
			}
			if tt.wantHeaders == nil {
				return
			}
			f.mu.Lock()
			req := f.lastReq
			f.mu.Unlock()
			if req == nil {
				t.Fatal("no request reached the server")
			}
			for k, want := range tt.wantHeaders {
				if got := req.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestUnwrapUsage(t *testing.T) {
	res := runCLI(t, "", nil, "", "unwrap", "a", "b")
	if res.code != 1 || !strings.Contains(res.stderr, "Too many arguments (expected 0-1, got 2)") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}
