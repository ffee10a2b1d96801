package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tresorhq/tresor/internal/logical"
)

// Names of the built-in policies.
const (
	RootName    = "root"
	DefaultName = "default"
)

// Sentinel errors. They are *logical.Error values, so the HTTP layer turns
// them into Vault's status codes without knowing this package.
var (
	// ErrNotFound is returned by Store.Get when no policy has the name.
	ErrNotFound error = &logical.Error{Kind: logical.KindNotFound}
	// ErrImmutable is returned when a caller tries to write or delete the
	// built-in root policy.
	ErrImmutable error = &logical.Error{Kind: logical.KindInvalidRequest,
		Messages: []string{`cannot update or delete the "root" policy`}}
	// ErrNotDeletable is returned by Store.Delete for the default policy,
	// which may be edited but must always exist.
	ErrNotDeletable error = &logical.Error{Kind: logical.KindInvalidRequest,
		Messages: []string{`cannot delete the "default" policy`}}
	// ErrInvalidName is returned for a policy name that is empty or holds a
	// "/" or control characters.
	ErrInvalidName error = &logical.Error{Kind: logical.KindInvalidRequest,
		Messages: []string{"invalid policy name: must be non-empty and contain no '/' or control characters"}}
)

// Policy is a parsed ACL policy: a set of rules, one per path.
type Policy struct {
	// Name is normalised: trimmed and lower case.
	Name string
	// Rules are sorted by Path, with rules for the same path merged.
	Rules []Rule
	// Text is the policy as it was written; String gives the canonical form.
	Text string
}

// Rule is what a policy says about one path pattern.
type Rule struct {
	// Path is the pattern as written, without a leading "/". A trailing "*"
	// makes it a prefix match, a "+" segment matches any one segment, and
	// "{{identity.entity...}}" templates are filled in by Render.
	Path         string
	Capabilities Capability
	// AllowedParameters and DeniedParameters map a lower-case parameter
	// name ("*" for any) to the values allowed or denied; an empty list
	// means any value. Values are kept as strings, sorted and unique.
	AllowedParameters map[string][]string
	DeniedParameters  map[string][]string
	// RequiredParameters are lower-case names that must be present.
	RequiredParameters []string
	MinWrappingTTL     time.Duration
	MaxWrappingTTL     time.Duration
}

// Templated reports whether the rule's path needs an entity to render.
func (r *Rule) Templated() bool { return strings.Contains(r.Path, "{{") }

// Templated reports whether any rule of p needs an entity to render.
func (p *Policy) Templated() bool {
	for i := range p.Rules {
		if p.Rules[i].Templated() {
			return true
		}
	}
	return false
}

// NormalizeName returns name trimmed of white space and in lower case, as
// Vault treats policy names, or ErrInvalidName.
func NormalizeName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || strings.Contains(n, "/") || !utf8.ValidString(n) ||
		strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return n, nil
}

// merge folds o, a rule for the same path, into r with Vault's rules: a deny
// on either side leaves only deny; otherwise capabilities are united,
// wrapping TTL bounds take the lower value set, parameter lists are joined
// (an empty list, "any value", absorbs the other side) and required
// parameters are united.
func (r *Rule) merge(o *Rule) {
	if r.Capabilities&Deny != 0 {
		return
	}
	if o.Capabilities&Deny != 0 {
		*r = Rule{Path: r.Path, Capabilities: Deny}
		return
	}
	r.Capabilities |= o.Capabilities
	r.MinWrappingTTL = lowerSet(r.MinWrappingTTL, o.MinWrappingTTL)
	r.MaxWrappingTTL = lowerSet(r.MaxWrappingTTL, o.MaxWrappingTTL)
	r.AllowedParameters = mergeParams(r.AllowedParameters, o.AllowedParameters)
	r.DeniedParameters = mergeParams(r.DeniedParameters, o.DeniedParameters)
	r.RequiredParameters = sortedUnique(append(slices.Clone(r.RequiredParameters), o.RequiredParameters...))
}

// clone returns a deep copy of r, so merging never aliases a parsed policy.
func (r *Rule) clone() Rule {
	c := *r
	c.AllowedParameters = cloneParams(r.AllowedParameters)
	c.DeniedParameters = cloneParams(r.DeniedParameters)
	c.RequiredParameters = slices.Clone(r.RequiredParameters)
	return c
}

func lowerSet(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func mergeParams(dst, src map[string][]string) map[string][]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		return cloneParams(src)
	}
	for k, vs := range src {
		old, ok := dst[k]
		if ok && len(old) == 0 || len(vs) == 0 {
			dst[k] = []string{}
			continue
		}
		dst[k] = sortedUnique(append(slices.Clone(old), vs...))
	}
	return dst
}

func cloneParams(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	c := make(map[string][]string, len(m))
	for k, v := range m {
		c[k] = slices.Clone(v)
		if c[k] == nil {
			c[k] = []string{}
		}
	}
	return c
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// ParseError is a policy that could not be parsed. Its message is safe to
// show the client and names the line and column at fault when known.
type ParseError struct {
	Line, Column int
	Msg          string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("failed to parse policy: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return "failed to parse policy: " + e.Msg
}

// As lets logical.AsError see a ParseError as a 400 Bad Request.
func (e *ParseError) As(target any) bool {
	if t, ok := target.(**logical.Error); ok {
		*t = &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{e.Error()}}
		return true
	}
	return false
}

var _ interface{ As(any) bool } = (*ParseError)(nil)
