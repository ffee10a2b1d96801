package framework

import (
	"fmt"
	"strings"
)

// node is one level of the pattern trie. Children are tried from the most
// specific kind to the least, which makes matching independent of the order
// paths were declared in.
type node struct {
	literal   map[string]*node
	named     *node
	namedName string
	rest      *Path // the path ending in a rest capture at this level
	restName  string
	leaf      *Path // the path ending exactly here
}

// segment is one parsed piece of a pattern.
type segment struct {
	kind int // segLiteral, segNamed or segRest
	text string
}

const (
	segLiteral = iota
	segNamed
	segRest
)

// parsePattern splits a pattern into segments, checking its syntax.
func parsePattern(pattern string) ([]segment, error) {
	parts := strings.Split(pattern, "/")
	segs := make([]segment, 0, len(parts))
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "...}"):
			name := p[1 : len(p)-4]
			if name == "" {
				return nil, fmt.Errorf("pattern %q: empty capture name", pattern)
			}
			if i != len(parts)-1 {
				return nil, fmt.Errorf("pattern %q: {%s...} must be the last segment", pattern, name)
			}
			segs = append(segs, segment{kind: segRest, text: name})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if name == "" || strings.ContainsAny(name, "{}") {
				return nil, fmt.Errorf("pattern %q: bad segment name %q", pattern, p)
			}
			segs = append(segs, segment{kind: segNamed, text: name})
		case p == "":
			return nil, fmt.Errorf("pattern %q: empty segment", pattern)
		case strings.ContainsAny(p, "{}"):
			return nil, fmt.Errorf("pattern %q: braces inside literal %q", pattern, p)
		default:
			segs = append(segs, segment{kind: segLiteral, text: p})
		}
	}
	return segs, nil
}

// insert adds p to the trie rooted at n.
func (n *node) insert(p *Path) error {
	segs, err := parsePattern(p.Pattern)
	if err != nil {
		return err
	}
	cur := n
	for _, s := range segs {
		switch s.kind {
		case segLiteral:
			if cur.literal == nil {
				cur.literal = make(map[string]*node)
			}
			next := cur.literal[s.text]
			if next == nil {
				next = &node{}
				cur.literal[s.text] = next
			}
			cur = next
		case segNamed:
			if cur.named == nil {
				cur.named, cur.namedName = &node{}, s.text
			} else if cur.namedName != s.text {
				return fmt.Errorf("pattern %q: segment {%s} conflicts with {%s} of another pattern", p.Pattern, s.text, cur.namedName)
			}
			cur = cur.named
		case segRest:
			if cur.rest != nil {
				return fmt.Errorf("pattern %q: same shape as %q", p.Pattern, cur.rest.Pattern)
			}
			cur.rest, cur.restName = p, s.text
			return nil
		}
	}
	if cur.leaf != nil {
		return fmt.Errorf("pattern %q: same shape as %q", p.Pattern, cur.leaf.Pattern)
	}
	cur.leaf = p
	return nil
}

// match finds the most specific path for the request path, and the values
// of its captures.
func (n *node) match(path string) (*Path, map[string]string) {
	var params map[string]string
	p := n.walk(path, 0, &params)
	return p, params
}

// walk matches path[pos:] below n; pos is the start of the next segment,
// or len(path)+1 once every segment is consumed. It works on offsets so
// that a match allocates nothing but its captures.
func (n *node) walk(path string, pos int, params *map[string]string) *Path {
	if pos > len(path) {
		return n.leaf
	}
	seg, next := path[pos:], len(path)+1
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg, next = seg[:i], pos+i+1
	}
	if child := n.literal[seg]; child != nil {
		if p := child.walk(path, next, params); p != nil {
			return p
		}
	}
	if n.named != nil && seg != "" {
		if p := n.named.walk(path, next, params); p != nil {
			setParam(params, n.namedName, seg)
			return p
		}
	}
	if n.rest != nil {
		setParam(params, n.restName, path[pos:])
		return n.rest
	}
	return nil
}

func setParam(params *map[string]string, name, value string) {
	if *params == nil {
		*params = make(map[string]string, 2)
	}
	(*params)[name] = value
}
