package pki

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	base := role{AllowedDomains: []string{"example.com"}, EnforceHostnames: true, AllowWildcardCertificates: true, AllowLocalhost: true}
	cases := map[string]struct {
		mod  func(r *role)
		name string
		rule string // "" when allowed
	}{
		"subdomain needs allow_subdomains": {nil, "a.example.com", "allow_subdomains=false"},
		"subdomain allowed":                {func(r *role) { r.AllowSubdomains = true }, "a.b.example.com", ""},
		"suffix is not a subdomain":        {func(r *role) { r.AllowSubdomains = true }, "badexample.com", "allowed_domains"},
		"bare needs allow_bare_domains":    {func(r *role) { r.AllowSubdomains = true }, "example.com", "allow_bare_domains=false"},
		"bare allowed":                     {func(r *role) { r.AllowBareDomains = true }, "example.com", ""},
		"glob":                             {func(r *role) { r.AllowGlobDomains = true; r.AllowedDomains = []string{"*.svc.example.com"} }, "a.b.svc.example.com", ""},
		"glob no match":                    {func(r *role) { r.AllowGlobDomains = true; r.AllowedDomains = []string{"*.svc.example.com"} }, "a.example.com", "allow_glob_domains=true"},
		"localhost":                        {nil, "localhost", ""},
		"localhost refused":                {func(r *role) { r.AllowLocalhost = false }, "localhost", "allow_localhost=false"},
		"wildcard":                         {func(r *role) { r.AllowSubdomains = true }, "*.example.com", ""},
		"wildcard refused":                 {func(r *role) { r.AllowSubdomains = true; r.AllowWildcardCertificates = false }, "*.example.com", "allow_wildcard_certificates=false"},
		"bad hostname":                     {func(r *role) { r.AllowSubdomains = true }, "a_b.example.com", "enforce_hostnames=true"},
		"bad hostname allowed":             {func(r *role) { r.AllowSubdomains = true; r.EnforceHostnames = false }, "a_b.example.com", ""},
		"any name":                         {func(r *role) { r.AllowAnyName = true }, "whatever.org", ""},
		"email domain":                     {func(r *role) { r.AllowBareDomains = true }, "ops@example.com", ""},
		"no domains":                       {func(r *role) { r.AllowedDomains = nil }, "x.org", "no allowed_domains"},
		"case insensitive":                 {func(r *role) { r.AllowSubdomains = true }, "API.Example.COM", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := base
			if tc.mod != nil {
				tc.mod(&r)
			}
			err := r.checkName("common name", tc.name)
			switch {
			case tc.rule == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.rule != "" && (err == nil || !strings.Contains(err.Error(), tc.rule) || !strings.Contains(err.Error(), "not allowed by this role")):
				t.Errorf("err = %v, want one naming %q", err, tc.rule)
			}
		})
	}
}

func TestStorageSerial(t *testing.T) {
	cases := map[string]struct {
		in, want string
		ok       bool
	}{
		"colons":     {"1A:2b:03", "1a-2b-03", true},
		"hyphens":    {"1a-2b-03", "1a-2b-03", true},
		"one byte":   {"0f", "0f", true},
		"dot dot":    {"../x", "", false},
		"slash":      {"1a/2b", "", false},
		"odd":        {"1a:2", "", false},
		"not hex":    {"zz:01", "", false},
		"empty":      {"", "", false},
		"no divider": {"1a2b", "", false},
	}
	for name, tc := range cases {
		got, ok := storageSerial(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: storageSerial(%q) = %q, %v", name, tc.in, got, ok)
		}
	}
}

func FuzzStorageSerial(f *testing.F) {
	for _, s := range []string{"1a:2b", "1a-2b", "../..", "ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := storageSerial(s)
		if ok && (strings.ContainsAny(out, "/.:") || len(out) < 2) {
			t.Fatalf("storageSerial(%q) = %q", s, out)
		}
	})
}
