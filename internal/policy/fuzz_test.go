package policy

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that String is a fixed
// point: what it prints parses back to the same rules and prints the same.
func FuzzParse(f *testing.F) {
	for _, text := range testPolicies {
		f.Add(text)
	}
	f.Add(defaultText)
	f.Add(`path "a/${b}\"c\\" { capabilities = ["read"] allowed_parameters = { "é" = ["\u00e9", 1, 2.5, false] } }`)
	f.Add(`{"path": [{"x": {"policy": "sudo"}}]}`)
	f.Add(`path = { "a" = { capabilities = ["list"] } }`)
	f.Add("path \"a\" {\n capabilities = <<EOF\nread\nEOF\n}")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse("fuzz", text)
		if err != nil {
			return
		}
		printed := p.String()
		q, err := Parse("fuzz", printed)
		if err != nil {
			t.Fatalf("printed policy does not parse: %v\n%s", err, printed)
		}
		if !reflect.DeepEqual(p.Rules, q.Rules) {
			t.Fatalf("rules changed through String:\n%#v\n%#v\n%s", p.Rules, q.Rules, printed)
		}
		if again := q.String(); again != printed {
			t.Fatalf("String is not stable:\n%s\n%s", printed, again)
		}
		if _, err := NewACL(p); err != nil {
			t.Fatalf("NewACL: %v", err)
		}
	})
}
