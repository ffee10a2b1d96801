package kv

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"a*", "a/b", true},
		{"a*", "ba", false},
		{"*db*", "team/a/db-pass", true},
		{"*db", "team/a/db-pass", false},
		{"team/?/db", "team/a/db", true},
		{"team/?/db", "team/ab/db", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"**", "x", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// A pathological pattern stays polynomial.
func TestGlobMatchNoBlowUp(t *testing.T) {
	pattern := strings.Repeat("a*", 120) + "b"
	name := strings.Repeat("a", 4000)
	if globMatch(pattern, name) {
		t.Fatal("matched")
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > maxFilterLen || len(name) > 1024 {
			return
		}
		// No wildcard: equality.
		if !strings.ContainsAny(pattern, "*?") && globMatch(pattern, name) != (pattern == name) {
			t.Fatalf("literal %q vs %q", pattern, name)
		}
		if !globMatch("*"+pattern+"*", "x"+strings.ReplaceAll(strings.ReplaceAll(pattern, "*", ""), "?", "q")+"y") {
			t.Fatalf("contains %q", pattern)
		}
	})
}
