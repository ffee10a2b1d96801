package cors

import (
	"slices"
	"testing"
)

func TestNew(t *testing.T) {
	tests := map[string]struct {
		origins, headers []string
		wantErr          bool
		allowed, denied  []string
	}{
		"one origin":       {origins: []string{"https://a.example"}, allowed: []string{"https://a.example"}, denied: []string{"https://b.example", "", "https://a.example.evil"}},
		"wildcard":         {origins: []string{"*"}, allowed: []string{"https://a.example", "null"}, denied: []string{""}},
		"blank trimmed":    {origins: []string{" https://a.example ", ""}, allowed: []string{"https://a.example"}},
		"none":             {origins: nil, wantErr: true},
		"only blanks":      {origins: []string{" ", ""}, wantErr: true},
		"wildcard and one": {origins: []string{"*", "https://a.example"}, wantErr: true},
	}
	for name, tc := range tests {
		p, err := New(tc.origins, tc.headers)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", name, err, tc.wantErr)
			continue
		}
		for _, o := range tc.allowed {
			if !p.AllowsOrigin(o) {
				t.Errorf("%s: %q refused", name, o)
			}
		}
		for _, o := range tc.denied {
			if p.AllowsOrigin(o) {
				t.Errorf("%s: %q allowed", name, o)
			}
		}
	}
}

func TestHeaders(t *testing.T) {
	p, err := New([]string{"*"}, []string{"X-Custom", "content-type", " "})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.AllowedHeaders, "X-Vault-Token") || !slices.Contains(p.AllowedHeaders, "X-Custom") {
		t.Errorf("headers %v lack the standard or the added one", p.AllowedHeaders)
	}
	n := 0
	for _, h := range p.AllowedHeaders {
		if h == "Content-Type" || h == "content-type" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Content-Type listed %d times: %v", n, p.AllowedHeaders)
	}
	var none *Policy
	if none.AllowsOrigin("https://a.example") {
		t.Error("nil policy allows an origin")
	}
}
