package policy

import "strings"

// hasPlusSegment reports whether a path pattern has a "+" segment, which
// matches any single segment.
func hasPlusSegment(path string) bool {
	return path == "+" || strings.HasPrefix(path, "+/") || strings.Contains(path, "/+/") ||
		strings.HasSuffix(path, "/+")
}

// wildRule is a compiled pattern with "+" segments, possibly ending in "*".
type wildRule struct {
	pattern  string   // without the trailing "*"
	segs     []string // pattern split on "/"
	isPrefix bool
	cand     candidate
}

func newWildRule(path string, r *Rule) wildRule {
	w := wildRule{pattern: path}
	if strings.HasSuffix(path, "*") {
		w.isPrefix = true
		w.pattern = path[:len(path)-1]
	}
	w.segs = strings.Split(w.pattern, "/")
	w.cand = candidate{first: -1, isPrefix: w.isPrefix, pattern: w.pattern, rule: r}
	off := 0
	for _, s := range w.segs {
		if s == "+" {
			if w.cand.first < 0 {
				w.cand.first = off
			}
			w.cand.wildcards++
		}
		off += len(s) + 1
	}
	return w
}

// match reports whether path matches: the same number of segments (at
// least as many for a prefix pattern), "+" matching any one segment, and
// the last pattern segment a string prefix for prefix patterns.
// n is the number of segments in path.
func (w *wildRule) match(path string, n int) bool {
	if n < len(w.segs) || (!w.isPrefix && n != len(w.segs)) {
		return false
	}
	rest := path
	for i, seg := range w.segs {
		part := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
		}
		switch {
		case seg == "+", seg == part:
		case w.isPrefix && i == len(w.segs)-1 && strings.HasPrefix(part, seg):
		default:
			return false
		}
	}
	return true
}

// candidate is a non-exact rule that matches a path, with what Vault's
// priority rules compare.
type candidate struct {
	first     int // offset of the first "+" or "*"
	isPrefix  bool
	wildcards int
	pattern   string
	rule      *Rule
}

// beats applies Vault's priority order for overlapping patterns: the later
// first wildcard wins; then not ending in "*"; then fewer "+" segments; then
// the longer pattern; then the lexicographically larger one.
func (c *candidate) beats(o *candidate) bool {
	switch {
	case c.first != o.first:
		return c.first > o.first
	case c.isPrefix != o.isPrefix:
		return !c.isPrefix
	case c.wildcards != o.wildcards:
		return c.wildcards < o.wildcards
	case len(c.pattern) != len(o.pattern):
		return len(c.pattern) > len(o.pattern)
	}
	return c.pattern > o.pattern
}

// longestPrefix returns the glob rule with the longest prefix of path.
func (a *ACL) longestPrefix(path string) (string, *Rule) {
	for _, n := range a.prefixLens {
		if n > len(path) {
			continue
		}
		if r, ok := a.prefix[path[:n]]; ok {
			return path[:n], r
		}
	}
	return "", nil
}

// bestNonExact finds the most specific glob or "+" rule for path, with the
// pattern that won; its rule is nil when nothing matches.
func (a *ACL) bestNonExact(path string) candidate {
	var best candidate
	if pre, r := a.longestPrefix(path); r != nil {
		best = candidate{first: len(pre), isPrefix: true, pattern: pre, rule: r}
	}
	if len(a.wild) == 0 {
		return best
	}
	n := strings.Count(path, "/") + 1
	first, _, _ := strings.Cut(path, "/")
	for _, group := range [2][]wildRule{a.wild[first], a.wild["+"]} {
		for i := range group {
			w := &group[i]
			if w.match(path, n) && (best.rule == nil || w.cand.beats(&best)) {
				best = w.cand
			}
		}
	}
	return best
}
