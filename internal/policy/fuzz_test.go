package policy

import (
	"reflect"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
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

// FuzzExplain: for any path and operation, Explain never panics and agrees
// with the ACL's decision.
func FuzzExplain(f *testing.F) {
	f.Add("secret/a/b", "list")
	f.Add("team/x/data/y", "create")
	f.Add("", "read")
	var pols []*Policy
	for n, text := range testPolicies {
		p, err := Parse(n, text)
		if err != nil {
			f.Fatal(err)
		}
		pols = append(pols, p)
	}
	acl, err := NewACL(pols...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, op string) {
		e, err := Explain(logical.Operation(op), path, pols...)
		if err != nil {
			t.Fatal(err)
		}
		d := acl.Allowed(logical.Operation(op), path, nil, 0)
		if d.Allowed != e.Allowed || d.Reason != e.Reason {
			t.Fatalf("explain %v %q, Allowed %v %q", e.Allowed, e.Reason, d.Allowed, d.Reason)
		}
		if e.Rule != nil && !e.Allowed && e.Reason == ReasonNoRule {
			t.Fatalf("a rule %+v but no rule matched", e.Rule)
		}
	})
}
