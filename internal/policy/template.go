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
	// AliasIDs, AliasMetadata and AliasCustomMetadata are, by mount
	// accessor, the alias's ID, metadata (set by its auth method) and
	// custom metadata (set through the API).
	AliasIDs            map[string]string
	AliasMetadata       map[string]map[string]string
	AliasCustomMetadata map[string]map[string]string
	// GroupNames maps the ID of every group the entity is in (directly or
	// not) to its name; GroupIDs maps the names back to the IDs.
	GroupNames map[string]string
	GroupIDs   map[string]string
}

// The template parameters Vault's ACL templating offers on entities.
const (
	tplEntityID       = "identity.entity.id"
	tplEntityName     = "identity.entity.name"
	tplEntityMetadata = "identity.entity.metadata."
	tplEntityAliases  = "identity.entity.aliases."
	tplAliasName      = ".name"
	tplGroupIDs       = "identity.groups.ids."
	tplGroupNames     = "identity.groups.names."
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
	case strings.HasPrefix(name, tplEntityAliases):
		// identity.entity.aliases.<accessor>.(name|id|metadata.<key>|custom_metadata.<key>)
		accessor, field, found := strings.Cut(name[len(tplEntityAliases):], ".")
		if !found || accessor == "" {
			return "", fmt.Errorf("unknown template %q", name)
		}
		kind, key, _ := strings.Cut(field, ".")
		switch {
		case field == "name" || field == "id":
		case (kind == "metadata" || kind == "custom_metadata") && key != "":
		default:
			return "", fmt.Errorf("unknown template %q", name)
		}
		if e != nil {
			switch kind {
			case "name":
				v, ok = e.Aliases[accessor]
			case "id":
				v, ok = e.AliasIDs[accessor]
			case "metadata":
				v, ok = e.AliasMetadata[accessor][key]
			case "custom_metadata":
				v, ok = e.AliasCustomMetadata[accessor][key]
			}
		}
	case strings.HasPrefix(name, tplGroupIDs) || strings.HasPrefix(name, tplGroupNames):
		// identity.groups.ids.<id>.name and identity.groups.names.<name>.id
		byID := strings.HasPrefix(name, tplGroupIDs)
		rest, want := name[len(tplGroupNames):], ".id"
		if byID {
			rest, want = name[len(tplGroupIDs):], ".name"
		}
		ref, found := strings.CutSuffix(rest, want)
		if !found || ref == "" || strings.Contains(ref, ".") {
			return "", fmt.Errorf("unknown template %q", name)
		}
		if e != nil {
			if byID {
				v, ok = e.GroupNames[ref]
			} else {
				v, ok = e.GroupIDs[ref]
			}
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
	return v != "" && v != "." && !strings.Contains(v, "..") &&
		!strings.ContainsAny(v, "*+/\\{}%?#") && strings.IndexFunc(v, unicode.IsControl) < 0
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
