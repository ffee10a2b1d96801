package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestExplain(t *testing.T) {
	type want struct {
		name    string // policy
		pattern string // "" for no match
		kind    MatchKind
		decides bool
		why     string // substring of Why
	}
	tests := []struct {
		name     string
		policies []string // keys of testPolicies, or "root"
		op       logical.Operation
		path     string
		allowed  bool
		reason   string
		pattern  string // the deciding pattern, "" for none
		kind     MatchKind
		ruleWhy  string // substring of the deciding rule's Why
		per      []want
	}{
		{
			name: "exact beats glob", policies: []string{"glob"}, op: logical.UpdateOperation, path: "secret/app/config",
			allowed: true, pattern: "secret/app/config", kind: MatchExact, ruleWhy: "exact match",
			per: []want{{"glob", "secret/app/config", MatchExact, true, "decides: exact match"}},
		},
		{
			name: "glob prefix", policies: []string{"glob"}, op: logical.ReadOperation, path: "secret/app/other",
			allowed: true, pattern: "secret/*", kind: MatchGlob, ruleWhy: "longest matching prefix",
			per: []want{{"glob", "secret/*", MatchGlob, true, "decides"}},
		},
		{
			name: "glob match lacks the capability", policies: []string{"glob"}, op: logical.DeleteOperation, path: "secret/x",
			reason: ReasonNoCapability, pattern: "secret/*", kind: MatchGlob,
			per: []want{{"glob", "secret/*", MatchGlob, true, `does not grant "delete"`}},
		},
		{
			name: "glob needs the slash", policies: []string{"glob"}, op: logical.ReadOperation, path: "secretx",
			reason: ReasonNoRule,
			per:    []want{{"glob", "", "", false, "no rule"}},
		},
		{
			name: "plus segment", policies: []string{"plus"}, op: logical.ReadOperation, path: "team/blue/config",
			allowed: true, pattern: "team/+/config", kind: MatchSegment, ruleWhy: "+ segment",
			per: []want{{"plus", "team/+/config", MatchSegment, true, "decides"}},
		},
		{
			name: "plus with a glob tail", policies: []string{"plus"}, op: logical.CreateOperation, path: "team/red/data/a/b",
			allowed: true, pattern: "team/+/data/*", kind: MatchSegment,
			per: []want{{"plus", "team/+/data/*", MatchSegment, true, "decides"}},
		},
		{
			name: "deny on an exact path beats a list glob", policies: []string{"deny-ab", "list-plus"}, op: logical.ListOperation,
			path: "secret/a/b", reason: ReasonDenied, pattern: "secret/a/b", kind: MatchExact, ruleWhy: "deny wins",
			per: []want{
				{"deny-ab", "secret/a/b", MatchExact, true, "deny wins"},
				{"list-plus", "secret/+/*", MatchSegment, false, `outranked: the more specific pattern "secret/a/b"`},
			},
		},
		{
			name: "deny wins over a grant on the same pattern", policies: []string{"writer", "denier"}, op: logical.UpdateOperation,
			path: "secret/x", reason: ReasonDenied, pattern: "secret/*", kind: MatchGlob, ruleWhy: "deny wins",
			per: []want{
				{"writer", "secret/*", MatchGlob, true, "overruled: policy denier denies the same pattern"},
				{"denier", "secret/*", MatchGlob, true, "deny wins"},
			},
		},
		{
			name: "several policies, most specific decides", policies: []string{"glob", "writer", "plus"}, op: logical.UpdateOperation,
			path: "secret/app/config", allowed: true, pattern: "secret/app/config", kind: MatchExact, ruleWhy: "most specific of 2 matching patterns",
			per: []want{
				{"glob", "secret/app/config", MatchExact, true, "decides"},
				{"writer", "secret/*", MatchGlob, false, "outranked"},
				{"plus", "", "", false, "no rule"},
			},
		},
		{
			name: "same glob merged across policies", policies: []string{"glob", "writer"}, op: logical.CreateOperation,
			path: "secret/new", allowed: true, pattern: "secret/*", kind: MatchGlob, ruleWhy: "longest matching prefix",
			per: []want{
				{"glob", "secret/*", MatchGlob, true, `does not grant "create"`},
				{"writer", "secret/*", MatchGlob, true, "decides"},
			},
		},
		{
			name: "root allows everything", policies: []string{"root", "glob"}, op: logical.DeleteOperation, path: "anything",
			allowed: true,
			per: []want{
				{"root", "", "", true, "root policy"},
				{"glob", "", "", false, "no rule"},
			},
		},
		{
			name: "nothing attached", op: logical.ReadOperation, path: "secret/a", reason: ReasonNoRule,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pols []*Policy
			for _, n := range tt.policies {
				if n == RootName {
					pols = append(pols, builtin(RootName))
					continue
				}
				p, err := Parse(n, testPolicies[n])
				if err != nil {
					t.Fatal(err)
				}
				pols = append(pols, p)
			}
			e, err := Explain(tt.op, tt.path, pols...)
			if err != nil {
				t.Fatal(err)
			}
			if e.Allowed != tt.allowed || e.Reason != tt.reason {
				t.Errorf("allowed, reason = %v, %q; want %v, %q", e.Allowed, e.Reason, tt.allowed, tt.reason)
			}
			switch {
			case tt.pattern == "" && e.Rule != nil && !e.Root:
				t.Errorf("rule = %+v, want none", e.Rule)
			case tt.pattern != "" && e.Rule == nil:
				t.Errorf("no rule, want %q", tt.pattern)
			case tt.pattern != "":
				if e.Rule.Pattern != tt.pattern || e.Rule.Kind != tt.kind || !strings.Contains(e.Rule.Why, tt.ruleWhy) {
					t.Errorf("rule = %+v; want %q %s %q", e.Rule, tt.pattern, tt.kind, tt.ruleWhy)
				}
			}
			if len(e.Policies) != len(tt.per) {
				t.Fatalf("got %d policy explanations, want %d: %+v", len(e.Policies), len(tt.per), e.Policies)
			}
			for i, w := range tt.per {
				got := e.Policies[i]
				if got.Name != w.name || got.Decides != w.decides || !strings.Contains(got.Why, w.why) {
					t.Errorf("policy %d = %+v; want %+v", i, got, w)
				}
				switch {
				case w.pattern == "" && got.Match != nil:
					t.Errorf("policy %s matched %+v, want no match", w.name, got.Match)
				case w.pattern != "" && (got.Match == nil || got.Match.Pattern != w.pattern || got.Match.Kind != w.kind):
					t.Errorf("policy %s match = %+v; want %q %s", w.name, got.Match, w.pattern, w.kind)
				}
			}
		})
	}
}

// Explain must agree with Allowed on every case of the decision table.
func TestExplainAgreesWithAllowed(t *testing.T) {
	var pols []*Policy
	for n, text := range testPolicies {
		p, err := Parse(n, text)
		if err != nil {
			t.Fatal(err)
		}
		pols = append(pols, p)
	}
	for _, set := range [][]string{{"glob"}, {"plus"}, {"deny-ab", "list-plus"}, {"writer", "denier"}, {"glob", "plus", "writer"}} {
		var chosen []*Policy
		for _, p := range pols {
			if slices.Contains(set, p.Name) {
				chosen = append(chosen, p)
			}
		}
		acl, _ := NewACL(chosen...)
		for _, op := range []logical.Operation{logical.ReadOperation, logical.ListOperation, logical.UpdateOperation, logical.DeleteOperation} {
			for _, path := range []string{"secret", "secret/", "secret/a/b", "secret/app/config", "team/x/config", "team/admin/x", "team/x/data/y"} {
				e, err := Explain(op, path, chosen...)
				if err != nil {
					t.Fatal(err)
				}
				if d := acl.Allowed(op, path, nil, 0); d.Allowed != e.Allowed || d.Reason != e.Reason {
					t.Errorf("%v %s %s: explain %v %q, Allowed %v %q", set, op, path, e.Allowed, e.Reason, d.Allowed, d.Reason)
				}
			}
		}
	}
}
