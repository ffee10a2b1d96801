package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
)

// MatchKind says how a rule's pattern matched a path.
type MatchKind string

// The ways a pattern matches.
const (
	// MatchExact: the pattern is the path itself.
	MatchExact MatchKind = "exact"
	// MatchGlob: the pattern ends in "*" and is a prefix of the path; of
	// several, the longest wins.
	MatchGlob MatchKind = "glob"
	// MatchSegment: the pattern has "+" segments, each matching one path
	// segment (and may end in "*").
	MatchSegment MatchKind = "segment"
)

// RuleMatch is a rule that matched a path, and why it did.
type RuleMatch struct {
	Pattern      string
	Kind         MatchKind
	Capabilities []string
	// Why is one sentence for people; it names no parameter values.
	Why string
}

// PolicyExplanation is what one policy says about the path.
type PolicyExplanation struct {
	Name string
	// Match is this policy's own best rule for the path, nil when none of
	// its rules matches.
	Match *RuleMatch
	// Decides reports that Match is the rule that decided: its pattern is
	// the one that won across all policies (rules with the same pattern in
	// several policies are merged, deny winning).
	Decides bool
	Why     string
}

// Explanation answers "why may (or may not) these policies do op on path".
type Explanation struct {
	Operation string
	Path      string
	// Capability is the capability the operation needs ("" if the
	// operation is not subject to policy).
	Capability string
	Allowed    bool
	Root       bool
	// Reason says why the request is denied; empty when allowed.
	Reason string
	// Rule is the merged rule that decided, nil when no rule matched.
	Rule     *RuleMatch
	Policies []PolicyExplanation
}

// Explain tells why policies allow or deny op on path: the decision an ACL
// compiled from them makes (without request parameters or wrapping), the
// rule that decided it, and for each policy the rule of its own that
// matched, or that none did.
func Explain(op logical.Operation, path string, policies ...*Policy) (*Explanation, error) {
	path = strings.TrimLeft(path, "/")
	e := &Explanation{Operation: string(op), Path: path}
	need := operationCapability(string(op))
	if names := need.Strings(); len(names) == 1 {
		e.Capability = names[0]
	}
	acl, err := NewACL(policies...)
	if err != nil {
		return nil, err
	}
	d := acl.Allowed(op, path, nil, 0)
	e.Allowed, e.Root, e.Reason = d.Allowed, d.Root, d.Reason
	list := need == List
	lookupPath := path
	if list && lookupPath != "" && !strings.HasSuffix(lookupPath, "/") {
		lookupPath += "/"
	}
	var winner *RuleMatch
	if !acl.root {
		winner = acl.explainLookup(lookupPath, list)
		if winner != nil {
			others := acl.matchingPatterns(lookupPath, list)
			winner.Why = kindSentence(winner, others)
			if slices.Contains(winner.Capabilities, "deny") {
				winner.Why = "deny wins: " + winner.Why
			}
			e.Rule = winner
		}
	}
	// Which policies deny the winning pattern, for the others' sentences.
	var deniers []string
	per := make([]PolicyExplanation, 0, len(policies))
	for _, p := range policies {
		if p == nil {
			continue
		}
		pe := PolicyExplanation{Name: p.Name}
		if p.Name == RootName {
			pe.Decides = true
			pe.Why = "the root policy allows everything"
			per = append(per, pe)
			continue
		}
		one, err := NewACL(p)
		if err != nil {
			return nil, err
		}
		m := one.explainLookup(lookupPath, list)
		if m == nil {
			pe.Why = "no rule of this policy matches the path"
			per = append(per, pe)
			continue
		}
		m.Why = kindSentence(m, one.matchingPatterns(lookupPath, list))
		pe.Match = m
		if winner != nil && m.Pattern == winner.Pattern {
			pe.Decides = true
			if slices.Contains(m.Capabilities, "deny") {
				deniers = append(deniers, p.Name)
			}
		}
		per = append(per, pe)
	}
	for i := range per {
		pe := &per[i]
		if pe.Match == nil || pe.Why != "" {
			continue
		}
		switch {
		case !pe.Decides:
			pe.Why = fmt.Sprintf("outranked: the more specific pattern %q decides", winner.Pattern)
		case slices.Contains(pe.Match.Capabilities, "deny"):
			pe.Why = "deny wins: this rule denies the path (" + pe.Match.Why + ")"
		case len(deniers) > 0:
			pe.Why = fmt.Sprintf("overruled: policy %s denies the same pattern, and deny wins", strings.Join(deniers, ", "))
		case need != 0 && !slices.Contains(pe.Match.Capabilities, e.Capability):
			pe.Why = fmt.Sprintf("decides, but does not grant %q (%s)", e.Capability, pe.Match.Why)
		default:
			pe.Why = "decides: " + pe.Match.Why
		}
	}
	e.Policies = per
	return e, nil
}

// Explain is Explain for the named policies as stored; unknown names are
// skipped, as for a token's ACL. Templated rules are not rendered.
func (s *Store) Explain(ctx context.Context, names []string, op logical.Operation, path string) (*Explanation, error) {
	policies, err := s.policySet(ctx, nameSet(names))
	if err != nil {
		return nil, err
	}
	return Explain(op, path, policies...)
}

// explainLookup is lookup with the pattern that selected the rule; nil
// when no rule matches.
func (a *ACL) explainLookup(path string, list bool) *RuleMatch {
	c, exact := a.find(path, list)
	switch {
	case c.rule == nil:
		return nil
	case exact:
		return ruleMatch(c.rule, c.pattern, MatchExact)
	}
	return candidateMatch(c)
}

func candidateMatch(c candidate) *RuleMatch {
	pattern, kind := c.pattern, MatchGlob
	if c.isPrefix {
		pattern += "*"
	}
	if c.wildcards > 0 {
		kind = MatchSegment
	}
	return ruleMatch(c.rule, pattern, kind)
}

func ruleMatch(r *Rule, pattern string, kind MatchKind) *RuleMatch {
	caps := r.Capabilities
	if caps&Deny != 0 {
		caps = Deny
	}
	return &RuleMatch{Pattern: pattern, Kind: kind, Capabilities: caps.Strings()}
}

// matchingPatterns counts the patterns of a that match path, the winner
// included. It is slow and only for explaining.
func (a *ACL) matchingPatterns(path string, list bool) int {
	paths := []string{path}
	if list && strings.HasSuffix(path, "/") {
		paths = append(paths, path[:len(path)-1])
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if _, ok := a.exact[p]; ok {
			seen[p] = true
		}
		for pre := range a.prefix {
			if strings.HasPrefix(p, pre) {
				seen[pre+"*"] = true
			}
		}
		n := strings.Count(p, "/") + 1
		for _, group := range a.wild {
			for i := range group {
				if group[i].match(p, n) {
					seen[group[i].cand.pattern+"\x00"] = true
				}
			}
		}
	}
	return len(seen)
}

// kindSentence says in words why m's pattern matched, given how many
// patterns matched in all.
func kindSentence(m *RuleMatch, matching int) string {
	var s string
	switch m.Kind {
	case MatchExact:
		s = fmt.Sprintf("exact match: the rule's path %q is the path", m.Pattern)
	case MatchGlob:
		s = fmt.Sprintf("glob: %q is the longest matching prefix", m.Pattern)
	case MatchSegment:
		s = fmt.Sprintf("+ segment: %q matches with each + standing for one segment", m.Pattern)
	}
	if matching > 1 {
		s += fmt.Sprintf("; it is the most specific of %d matching patterns", matching)
	}
	return s
}
