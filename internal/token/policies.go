package token

import (
	"slices"
	"strings"
)

// sanitizePolicies trims, lower-cases, de-duplicates and sorts policy
// names, adding "default" if asked. A set holding "root" is just root.
func sanitizePolicies(in []string, addDefault bool) []string {
	out := make([]string, 0, len(in)+1)
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	if addDefault {
		out = append(out, "default")
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if slices.Contains(out, "root") {
		return []string{"root"}
	}
	return out
}

// subset reports whether every element of sub is in set.
func subset(set, sub []string) bool {
	for _, p := range sub {
		if !slices.Contains(set, p) {
			return false
		}
	}
	return true
}

// without returns list without name.
func without(list []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(p string) bool { return p == name })
}
