package framework

import (
	"maps"
	"testing"
)

func TestMatch(t *testing.T) {
	patterns := []string{
		"{path...}",
		"config",
		"data/{path...}",
		"role/{name}",
		"role/{name}/secret-id",
		"role/{name}/{field}",
		"role/admin",
		"role/admin/{rest...}",
	}
	tests := map[string]struct {
		path    string
		pattern string
		params  map[string]string
	}{
		"literal":                       {"config", "config", nil},
		"literal beats rest":            {"config", "config", nil},
		"rest below literal":            {"data/a/b/c", "data/{path...}", map[string]string{"path": "a/b/c"}},
		"rest keeps trailing slash":     {"data/a/", "data/{path...}", map[string]string{"path": "a/"}},
		"rest may be empty":             {"data/", "data/{path...}", map[string]string{"path": ""}},
		"literal without slash":         {"data", "{path...}", map[string]string{"path": "data"}},
		"named":                         {"role/web", "role/{name}", map[string]string{"name": "web"}},
		"literal beats named":           {"role/admin", "role/admin", nil},
		"literal then named":            {"role/web/secret-id", "role/{name}/secret-id", map[string]string{"name": "web"}},
		"named then named":              {"role/web/ttl", "role/{name}/{field}", map[string]string{"name": "web", "field": "ttl"}},
		"literal prefix beats named":    {"role/admin/secret-id", "role/admin/{rest...}", map[string]string{"rest": "secret-id"}},
		"named needs a segment":         {"role/", "{path...}", map[string]string{"path": "role/"}},
		"too deep for named falls back": {"role/a/b/c", "{path...}", map[string]string{"path": "role/a/b/c"}},
		"root rest takes everything":    {"x/y", "{path...}", map[string]string{"path": "x/y"}},
		"empty path":                    {"", "{path...}", map[string]string{"path": ""}},
	}
	// Declaration order must not matter: build the trie forwards and
	// backwards.
	for _, reverse := range []bool{false, true} {
		var root node
		for i := range patterns {
			p := patterns[i]
			if reverse {
				p = patterns[len(patterns)-1-i]
			}
			if err := root.insert(&Path{Pattern: p}); err != nil {
				t.Fatal(err)
			}
		}
		for name, tc := range tests {
			got, params := root.match(tc.path)
			if got == nil || got.Pattern != tc.pattern {
				t.Errorf("%s (reverse=%v): match(%q) = %v, want %q", name, reverse, tc.path, got, tc.pattern)
				continue
			}
			if !maps.Equal(params, tc.params) {
				t.Errorf("%s (reverse=%v): params = %v, want %v", name, reverse, params, tc.params)
			}
		}
	}
}

func TestMatchNone(t *testing.T) {
	var root node
	for _, p := range []string{"config", "role/{name}"} {
		if err := root.insert(&Path{Pattern: p}); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"", "other", "config/x", "role", "role/a/b", "role/"} {
		if p, _ := root.match(path); p != nil {
			t.Errorf("match(%q) = %q, want none", path, p.Pattern)
		}
	}
}

func TestInsertErrors(t *testing.T) {
	tests := map[string][]string{
		"duplicate literal":         {"config", "config"},
		"duplicate rest":            {"data/{a...}", "data/{b...}"},
		"named names disagree":      {"role/{name}", "role/{id}/x"},
		"rest not last":             {"data/{p...}/x"},
		"empty segment":             {"a//b"},
		"empty name":                {"role/{}"},
		"brace in literal":          {"ro{le"},
		"same shape different name": {"role/{name}", "role/{name}"},
	}
	for name, patterns := range tests {
		var root node
		var err error
		for _, p := range patterns {
			if err = root.insert(&Path{Pattern: p}); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: inserting %q succeeded, want an error", name, patterns)
		}
	}
}
