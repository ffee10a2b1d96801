package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// ACL is a compiled set of policies: the answer to "may this token do that
// on this path". It is immutable and safe for concurrent use. Checks never
// parse anything and do not allocate for exact or prefix hits.
type ACL struct {
	root bool
	// exact holds rules without wildcards, by path.
	exact map[string]*Rule
	// prefix holds rules ending in "*" (without "+"), by path without "*";
	// prefixLens are the distinct key lengths, longest first, so the longest
	// matching prefix is found with one map probe per length.
	prefix     map[string]*Rule
	prefixLens []int
	// wild holds rules with "+" segments by their first segment, which is
	// either literal (and must equal the path's) or "+". A lookup tries the
	// two groups that can match.
	wild map[string][]wildRule
}

// Decision is the answer to one check.
type Decision struct {
	Allowed bool
	// Sudo reports that the matching rule grants sudo on the path, which
	// root-protected endpoints require in addition to the operation.
	Sudo bool
	// Root reports that the ACL is the root policy's: everything is allowed.
	Root bool
	// Reason says why a request was denied; it names no values and is safe
	// to log. Clients are only ever told "permission denied".
	Reason string
}

// Reasons for a denial.
const (
	ReasonUnknownOperation  = "operation is not subject to policy"
	ReasonNoRule            = "no policy rule matches the path"
	ReasonDenied            = "path is explicitly denied"
	ReasonNoCapability      = "matching rule does not grant the operation"
	ReasonWrapTTLTooLong    = "wrapping TTL is above the maximum allowed"
	ReasonWrapTTLTooShort   = "response wrapping with a TTL at or above the minimum is required"
	ReasonWrapTTLConflict   = "merged wrapping TTL bounds admit no value"
	ReasonMissingParameter  = "a required parameter is missing"
	ReasonDeniedParameter   = "a parameter or its value is denied"
	ReasonParameterNotAllow = "a parameter or its value is not allowed"
)

// NewACL compiles policies into an ACL. Rules for the same path are merged
// across policies (capabilities united, but deny wins). If any policy is the
// root policy, the ACL allows everything. Templated rules must have been
// rendered with Policy.Render; those left are dropped.
func NewACL(policies ...*Policy) (*ACL, error) {
	a := &ACL{exact: map[string]*Rule{}, prefix: map[string]*Rule{}}
	wild := map[string]*Rule{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		if p.Name == RootName {
			return &ACL{root: true}, nil
		}
		for i := range p.Rules {
			r := &p.Rules[i]
			if r.Templated() {
				continue
			}
			table, key := a.exact, r.Path
			switch {
			case hasPlusSegment(r.Path):
				table = wild
			case strings.HasSuffix(r.Path, "*"):
				table, key = a.prefix, strings.TrimSuffix(r.Path, "*")
			}
			if old, ok := table[key]; ok {
				old.merge(r)
			} else {
				c := r.clone()
				table[key] = &c
			}
		}
	}
	for k := range a.prefix {
		if !slices.Contains(a.prefixLens, len(k)) {
			a.prefixLens = append(a.prefixLens, len(k))
		}
	}
	slices.SortFunc(a.prefixLens, func(x, y int) int { return y - x })
	a.wild = map[string][]wildRule{}
	for path, r := range wild {
		w := newWildRule(path, r)
		a.wild[w.segs[0]] = append(a.wild[w.segs[0]], w)
	}
	// A fixed order keeps lookups deterministic; priority does the rest.
	for _, group := range a.wild {
		slices.SortFunc(group, func(x, y wildRule) int { return strings.Compare(x.pattern, y.pattern) })
	}
	return a, nil
}

// IsRoot reports whether a is the root policy's ACL.
func (a *ACL) IsRoot() bool { return a.root }

// Allowed decides whether op on path is allowed with the request parameters
// params and the requested response-wrapping TTL (0 for none).
//
// op is one of Vault's operations ("read", "create", "update", "patch",
// "delete", "list"). A list checks path with a trailing "/", as Vault's
// HTTP layer sends it, then falls back to the rule for the path without it.
// Parameter constraints apply to create, update and patch.
func (a *ACL) Allowed(op logical.Operation, path string, params map[string]any, wrapTTL time.Duration) Decision {
	if a.root {
		return Decision{Allowed: true, Sudo: true, Root: true}
	}
	need := operationCapability(string(op))
	if need == 0 {
		return Decision{Reason: ReasonUnknownOperation}
	}
	path = strings.TrimLeft(path, "/")
	list := need == List
	if list && path != "" && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	r := a.lookup(path, list)
	if r == nil {
		return Decision{Reason: ReasonNoRule}
	}
	if r.Capabilities&Deny != 0 {
		return Decision{Reason: ReasonDenied}
	}
	d := Decision{Sudo: r.Capabilities&Sudo != 0}
	if r.Capabilities&need == 0 {
		d.Reason = ReasonNoCapability
		return d
	}
	switch {
	case r.MinWrappingTTL > 0 && r.MaxWrappingTTL > 0 && r.MaxWrappingTTL < r.MinWrappingTTL:
		d.Reason = ReasonWrapTTLConflict
		return d
	case r.MaxWrappingTTL > 0 && wrapTTL > r.MaxWrappingTTL:
		d.Reason = ReasonWrapTTLTooLong
		return d
	case r.MinWrappingTTL > 0 && wrapTTL < r.MinWrappingTTL:
		d.Reason = ReasonWrapTTLTooShort
		return d
	}
	if need&(Create|Update|Patch) != 0 {
		if reason := r.checkParams(params); reason != "" {
			d.Reason = reason
			return d
		}
	}
	d.Allowed = true
	return d
}

// Capabilities returns the capabilities a grants on path, as
// sys/capabilities answers: ["root"] for the root ACL, ["deny"] when
// nothing is granted, the sorted capability names otherwise.
func (a *ACL) Capabilities(path string) []string {
	if a.root {
		return []string{"root"}
	}
	// Vault answers with a list-style lookup, so a rule for "a/b" also
	// answers for "a/b/".
	r := a.lookup(strings.TrimLeft(path, "/"), true)
	if !r.grants() {
		return []string{"deny"}
	}
	return r.Capabilities.Strings()
}

// lookup finds the rule that governs path: an exact rule, else the most
// specific glob or "+" rule. For lists Vault also accepts an exact rule, or
// a non-exact match, for the path without its trailing slash, in that order.
func (a *ACL) lookup(path string, list bool) *Rule {
	c, _ := a.find(path, list)
	return c.rule
}

// find is lookup telling how the rule was found: by an exact pattern
// (exact, c.pattern is that path) or as the winning non-exact candidate.
// c.rule is nil when nothing matches.
func (a *ACL) find(path string, list bool) (c candidate, exact bool) {
	if r, ok := a.exact[path]; ok {
		return candidate{pattern: path, rule: r}, true
	}
	if list && strings.HasSuffix(path, "/") {
		trimmed := path[:len(path)-1]
		if r, ok := a.exact[trimmed]; ok {
			return candidate{pattern: trimmed, rule: r}, true
		}
		if c := a.bestNonExact(trimmed); c.rule != nil {
			return c, false
		}
	}
	return a.bestNonExact(path), false
}

// grants reports whether r (nil: no rule) allows anything: some
// capability, and no deny.
func (r *Rule) grants() bool {
	return r != nil && r.Capabilities != 0 && r.Capabilities&Deny == 0
}

// HasMountAccess reports whether a grants anything at all on the mount at
// mountPath ("secret/"): a capability on the mount path itself, or on any
// path below it. It decides which mounts sys/internal/ui/mounts shows a
// token, as Vault does; deny rules grant nothing.
func (a *ACL) HasMountAccess(mountPath string) bool {
	if a.root {
		return true
	}
	if a.lookup(strings.TrimLeft(mountPath, "/"), true).grants() {
		return true
	}
	for path, r := range a.exact {
		if strings.HasPrefix(path, mountPath) && r.grants() {
			return true
		}
	}
	for path, r := range a.prefix {
		if strings.HasPrefix(path, mountPath) && r.grants() {
			return true
		}
	}
	// A "+" pattern counts when its first segments can match the mount's.
	mountSegs := strings.Split(strings.TrimSuffix(mountPath, "/"), "/")
	for _, group := range a.wild {
		for i := range group {
			if w := &group[i]; w.cand.rule.grants() && w.couldMatchBelow(mountSegs) {
				return true
			}
		}
	}
	return false
}

// couldMatchBelow reports whether some path below the mount whose path
// segments are mountSegs can match w.
func (w *wildRule) couldMatchBelow(mountSegs []string) bool {
	for i, seg := range mountSegs {
		if i >= len(w.segs) {
			return w.isPrefix
		}
		last := i == len(w.segs)-1
		switch {
		case w.segs[i] == "+", w.segs[i] == seg:
		case w.isPrefix && last && strings.HasPrefix(seg, w.segs[i]):
			return true
		default:
			return false
		}
	}
	return true
}
