package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Entity is what path templates may refer to: the caller's identity entity.
type Entity struct {
	ID       string
	Name     string
	Metadata map[string]string
	// Aliases maps an auth mount accessor to the entity's alias name there.
	Aliases map[string]string
}

// The template parameters Vault's ACL templating offers on entities.
const (
	tplEntityID       = "identity.entity.id"
	tplEntityName     = "identity.entity.name"
	tplEntityMetadata = "identity.entity.metadata."
	tplEntityAliases  = "identity.entity.aliases."
	tplAliasName      = ".name"
)

// checkTemplates validates every "{{...}}" in a path.
func checkTemplates(path string) error {
	_, err := expand(path, nil)
	return err
}

// expand replaces each template in path by its value for e. With e nil it
// only validates. It fails on a malformed or unknown template, and on a
// value that could widen the rule (see safeValue).
func expand(path string, e *Entity) (string, error) {
	if !strings.Contains(path, "{{") && !strings.Contains(path, "}}") {
		return path, nil
	}
	var b strings.Builder
	rest := path
	for {
		open := strings.Index(rest, "{{")
		if closeAt := strings.Index(rest, "}}"); closeAt >= 0 && (open < 0 || closeAt < open) {
			return "", errors.New("unbalanced template braces")
		}
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:open])
		rest = rest[open+2:]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return "", errors.New("unbalanced template braces")
		}
		name := strings.TrimSpace(rest[:end])
		rest = rest[end+2:]
		v, err := templateValue(name, e)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
}

func templateValue(name string, e *Entity) (string, error) {
	var v string
	var ok bool
	switch {
	case name == tplEntityID:
		if e != nil {
			v, ok = e.ID, true
		}
	case name == tplEntityName:
		if e != nil {
			v, ok = e.Name, true
		}
	case strings.HasPrefix(name, tplEntityMetadata) && len(name) > len(tplEntityMetadata):
		if e != nil {
			v, ok = e.Metadata[name[len(tplEntityMetadata):]]
		}
	case strings.HasPrefix(name, tplEntityAliases) && strings.HasSuffix(name, tplAliasName) &&
		len(name) > len(tplEntityAliases)+len(tplAliasName):
		accessor := name[len(tplEntityAliases) : len(name)-len(tplAliasName)]
		if strings.Contains(accessor, ".") {
			return "", fmt.Errorf("unknown template %q", name)
		}
		if e != nil {
			v, ok = e.Aliases[accessor]
		}
	default:
		return "", fmt.Errorf("unknown template %q", name)
	}
	if e == nil {
		return "", nil
	}
	if !ok || !safeValue(v) {
		return "", errUnrenderable
	}
	return v, nil
}

// errUnrenderable drops a templated rule whose value is missing or unsafe.
var errUnrenderable = errors.New("template value missing or unsafe")

// safeValue refuses values that would make a rendered path match more than
// the one segment the template stands for.
func safeValue(v string) bool {
	return v != "" && v != "." && v != ".." &&
		!strings.ContainsAny(v, "*+/{}") && strings.IndexFunc(v, unicode.IsControl) < 0
}

// Render returns p with its templated paths filled in from e. A rule whose
// template has no value for e, or whose value holds "*", "+", "/" or other
// characters that could widen it, is dropped: a template never grants more
// than the literal path it stands for. Policies without templates are
// returned as they are.
func (p *Policy) Render(e *Entity) *Policy {
	if !p.Templated() {
		return p
	}
	out := &Policy{Name: p.Name, Text: p.Text}
	byPath := map[string]int{}
	for i := range p.Rules {
		r := p.Rules[i].clone()
		if r.Templated() {
			if e == nil {
				continue
			}
			path, err := expand(r.Path, e)
			if err != nil {
				continue
			}
			r.Path = path
		}
		if j, ok := byPath[r.Path]; ok {
			out.Rules[j].merge(&r)
			continue
		}
		byPath[r.Path] = len(out.Rules)
		out.Rules = append(out.Rules, r)
	}
	slices.SortFunc(out.Rules, func(a, b Rule) int { return strings.Compare(a.Path, b.Path) })
	return out
}
