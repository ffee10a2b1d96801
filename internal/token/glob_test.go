package token

import "testing"

func TestGlobMatch(t *testing.T) {
	tests := map[string]struct {
		pattern, name string
		want          bool
	}{
		"exact":                    {"app", "app", true},
		"exact mismatch":           {"app", "apps", false},
		"trailing star":            {"app-*", "app-web", true},
		"trailing star empty rest": {"app-*", "app-", true},
		"leading star":             {"*-admin", "ops-admin", true},
		"middle star":              {"app-*-ro", "app-web-ro", true},
		"middle star mismatch":     {"app-*-ro", "app-web-rw", false},
		"stars do not overlap":     {"a*a", "a", false},
		"lone star":                {"*", "anything", true},
		"two stars":                {"*web*", "app-web-1", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := matchesGlob([]string{tc.pattern}, tc.name); got != tc.want {
				t.Errorf("matchesGlob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
			}
		})
	}
}
