package policy

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// This file checks the compiled ACL against a small reference model of
// Vault's documented matching rules, written for clarity, not speed: every
// rule is tried against the path; "+" matches one whole segment (even an
// empty one, as after a list's trailing slash); a
// trailing "*" matches any rest; an exact rule beats every pattern; among
// patterns the documented priority order decides; rules for the same
// pattern are merged across policies with deny winning.

// modelRule is one merged rule of the model.
type modelRule struct {
	pattern string
	caps    map[string]bool
	re      *regexp.Regexp
}

func (m *modelRule) exact() bool {
	return !strings.HasSuffix(m.pattern, "*") && !slicesContains(strings.Split(m.pattern, "/"), "+")
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// compileModel merges the rules of policies by pattern.
func compileModel(policies map[string]map[string][]string) map[string]*modelRule {
	rules := map[string]*modelRule{}
	for _, paths := range policies {
		for pattern, caps := range paths {
			r := rules[pattern]
			if r == nil {
				r = &modelRule{pattern: pattern, caps: map[string]bool{}}
				var re strings.Builder
				re.WriteString("^")
				body := strings.TrimSuffix(pattern, "*")
				for i, seg := range strings.Split(body, "/") {
					if i > 0 {
						re.WriteString("/")
					}
					if seg == "+" {
						re.WriteString("[^/]*") // any one segment, even the empty one after a list's slash
					} else {
						re.WriteString(regexp.QuoteMeta(seg))
					}
				}
				if strings.HasSuffix(pattern, "*") {
					re.WriteString(".*")
				}
				re.WriteString("$")
				r.re = regexp.MustCompile(re.String())
				rules[pattern] = r
			}
			for _, c := range caps {
				r.caps[c] = true
			}
		}
	}
	for _, r := range rules {
		if r.caps["deny"] {
			r.caps = map[string]bool{"deny": true}
		}
	}
	return rules
}

// firstWildcard is where the first "+" segment or the "*" starts.
func firstWildcard(pattern string) int {
	first := len(pattern)
	if strings.HasSuffix(pattern, "*") {
		first = len(pattern) - 1
	}
	off := 0
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "+" && off < first {
			return off
		}
		off += len(seg) + 1
	}
	return first
}

// higher reports whether pattern a has priority over b, in the order of
// Vault's documentation: the later first wildcard; not ending in "*"; fewer
// "+" segments; longer; lexicographically larger.
func higher(a, b string) bool {
	if fa, fb := firstWildcard(a), firstWildcard(b); fa != fb {
		return fa > fb
	}
	if sa, sb := strings.HasSuffix(a, "*"), strings.HasSuffix(b, "*"); sa != sb {
		return !sa
	}
	if pa, pb := plusSegments(a), plusSegments(b); pa != pb {
		return pa < pb
	}
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

func plusSegments(pattern string) int {
	n := 0
	for _, seg := range strings.Split(strings.TrimSuffix(pattern, "*"), "/") {
		if seg == "+" {
			n++
		}
	}
	return n
}

func modelLookup(rules map[string]*modelRule, path string) *modelRule {
	if r, ok := rules[path]; ok && r.exact() {
		return r
	}
	var best *modelRule
	for _, r := range rules {
		if r.exact() || !r.re.MatchString(path) {
			continue
		}
		if best == nil || higher(r.pattern, best.pattern) {
			best = r
		}
	}
	return best
}

// modelAllowed is the model's decision for op on path.
func modelAllowed(rules map[string]*modelRule, op, path string) bool {
	var r *modelRule
	if op == "list" {
		// A list asks for "path/"; an exact rule, then a pattern, for the
		// path without the slash also answers.
		if !strings.HasSuffix(path, "/") {
			path += "/"
		}
		trimmed := strings.TrimSuffix(path, "/")
		if x, ok := rules[path]; ok && x.exact() {
			r = x
		} else if x, ok := rules[trimmed]; ok && x.exact() {
			r = x
		} else if r = modelLookup(rules, trimmed); r == nil {
			r = modelLookup(rules, path)
		}
	} else {
		r = modelLookup(rules, path)
	}
	return r != nil && !r.caps["deny"] && r.caps[op]
}

var modelSegments = []string{"a", "b", "ab", "+"}
var modelCaps = []string{"read", "list", "create", "update", "delete", "deny", "sudo"}
var modelOps = []string{"read", "list", "create", "update", "delete"}

// randomPattern is a policy path of 1–4 segments from a small alphabet, so
// that patterns overlap often, with an optional trailing "*".
func randomPattern(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = modelSegments[r.IntN(len(modelSegments))]
	}
	p := strings.Join(segs, "/")
	switch r.IntN(4) {
	case 0:
		if segs[n-1] == "+" {
			p += "/" // Vault forbids "+*"
		}
		p += "*"
	case 1:
		p += "/*"
	}
	return p
}

func randomPath(r *rand.Rand) string {
	n := 1 + r.IntN(5)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = []string{"a", "b", "ab", "abc", "x"}[r.IntN(5)]
	}
	return strings.Join(segs, "/")
}

// checkModel builds 1–3 random policies from seed, compiles them through
// the real parser and NewACL, and compares decisions on random requests.
func checkModel(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	model := map[string]map[string][]string{}
	var compiled []*Policy
	for p := range 1 + r.IntN(3) {
		name := fmt.Sprintf("p%d", p)
		paths := map[string][]string{}
		var text strings.Builder
		for range 1 + r.IntN(6) {
			pattern := randomPattern(r)
			if _, dup := paths[pattern]; dup {
				continue
			}
			var caps []string
			for _, c := range modelCaps {
				if r.IntN(3) == 0 {
					caps = append(caps, c)
				}
			}
			if len(caps) == 0 {
				caps = []string{modelCaps[r.IntN(len(modelCaps))]}
			}
			paths[pattern] = caps
			quoted := make([]string, len(caps))
			for i, c := range caps {
				quoted[i] = fmt.Sprintf("%q", c)
			}
			fmt.Fprintf(&text, "path %q {\n  capabilities = [%s]\n}\n", pattern, strings.Join(quoted, ", "))
		}
		pol, err := Parse(name, text.String())
		if err != nil {
			t.Fatalf("seed %d: parse %s: %v\n%s", seed, name, err, text.String())
		}
		model[name] = paths
		compiled = append(compiled, pol)
	}
	acl, err := NewACL(compiled...)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	rules := compileModel(model)
	for range 40 {
		op, path := modelOps[r.IntN(len(modelOps))], randomPath(r)
		want := modelAllowed(rules, op, path)
		if got := acl.Allowed(logical.Operation(op), path, nil, 0).Allowed; got != want {
			t.Fatalf("seed %d: %s %s: ACL allowed=%v, model allowed=%v\npolicies: %v", seed, op, path, got, want, model)
		}
	}
}

func TestACLAgainstModel(t *testing.T) {
	for seed := range uint64(3000) {
		checkModel(t, seed)
	}
}

// FuzzACLAgainstModel lets the fuzzer pick the seeds of TestACLAgainstModel.
func FuzzACLAgainstModel(f *testing.F) {
	for _, s := range []uint64{0, 1, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(checkModel)
}
