package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/token"

	"github.com/tresorhq/tresor/internal/parse"
)

// maxTextSize bounds the policy text Parse accepts; Vault policies are a few
// kilobytes at most.
const maxTextSize = 1 << 20

// Parse parses an ACL policy written in HCL or JSON. name is normalised with
// NormalizeName. Errors are *ParseError values (or ErrInvalidName).
func Parse(name, text string) (p *Policy, err error) {
	n, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	if len(text) > maxTextSize {
		return nil, &ParseError{Msg: fmt.Sprintf("policy is larger than %d bytes", maxTextSize)}
	}
	// The HCL v1 parser and its token decoding panic on some malformed
	// input; such input is a client mistake, not a crash.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &ParseError{Msg: "malformed policy"}
		}
	}()
	// HCL's JSON reader accepts some malformed JSON silently; check first.
	if err := checkJSON(text); err != nil {
		return nil, err
	}
	file, err := hcl.ParseString(text)
	if err != nil {
		return nil, hclError(err)
	}
	root, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, &ParseError{Msg: "policy does not contain a root object"}
	}
	rules := map[string]*Rule{}
	for _, item := range root.Items {
		if len(item.Keys) == 0 {
			return nil, errorAt(item.Pos(), "expected a key")
		}
		key := item.Keys[0]
		switch keyString(key) {
		case "name":
			// Vault accepts and ignores a name inside the text.
		case "path":
			stanzas, err := pathStanzas(item)
			if err != nil {
				return nil, err
			}
			for _, s := range stanzas {
				r, err := parseRule(s)
				if err != nil {
					return nil, err
				}
				if old, ok := rules[r.Path]; ok {
					old.merge(r)
				} else {
					rules[r.Path] = r
				}
			}
		default:
			return nil, errorAt(key.Pos(), "unknown key %q", keyString(key))
		}
	}
	p = &Policy{Name: n, Text: text, Rules: make([]Rule, 0, len(rules))}
	for _, r := range rules {
		p.Rules = append(p.Rules, *r)
	}
	slices.SortFunc(p.Rules, func(a, b Rule) int { return strings.Compare(a.Path, b.Path) })
	return p, nil
}

// hclError turns an HCL syntax error into a ParseError with its position.
func hclError(err error) error {
	var pe *hclparser.PosError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Pos.Line, Column: pe.Pos.Column, Msg: pe.Err.Error()}
	}
	return &ParseError{Msg: err.Error()}
}

// checkJSON reports a syntax error, with its position, in a policy written
// in JSON (which HCL recognises by a leading "{").
func checkJSON(text string) error {
	if !strings.HasPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), "{") {
		return nil
	}
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal([]byte(text), &v); errors.As(err, &se) {
		before := text[:min(int(se.Offset), len(text))]
		line := strings.Count(before, "\n") + 1
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
		return &ParseError{Line: line, Column: max(col, 1), Msg: se.Error()}
	} else if err != nil {
		return &ParseError{Msg: "invalid JSON"}
	}
	return nil
}

func errorAt(pos token.Pos, format string, args ...any) *ParseError {
	return &ParseError{Line: pos.Line, Column: pos.Column, Msg: fmt.Sprintf(format, args...)}
}

func keyString(k *ast.ObjectKey) string {
	s, _ := k.Token.Value().(string)
	return s
}

// members returns the items of an object value. HCL's JSON reader folds
// nested single objects into one item with several keys ("path", "a/b",
// "capabilities"), so an item with keys left over stands for an object
// holding that one item.
func members(keys []*ast.ObjectKey, val ast.Node, what string) ([]*ast.ObjectItem, error) {
	if len(keys) > 0 {
		return []*ast.ObjectItem{{Keys: keys, Val: val}}, nil
	}
	switch v := val.(type) {
	case *ast.ObjectType:
		return v.List.Items, nil
	case *ast.ListType:
		// A JSON list of objects: treat as their concatenation.
		var items []*ast.ObjectItem
		for _, e := range v.List {
			o, ok := e.(*ast.ObjectType)
			if !ok {
				return nil, errorAt(e.Pos(), "%s must be an object", what)
			}
			items = append(items, o.List.Items...)
		}
		return items, nil
	}
	return nil, errorAt(val.Pos(), "%s must be an object", what)
}

// pathStanzas returns the `path "x" {...}` items of a top-level "path"
// item, also accepting the object form `path = { "x" = {...} }`.
func pathStanzas(item *ast.ObjectItem) ([]*ast.ObjectItem, error) {
	if len(item.Keys) >= 2 {
		return []*ast.ObjectItem{item}, nil
	}
	inner, err := members(nil, item.Val, "path")
	if err != nil {
		return nil, err
	}
	// Every member must itself be a stanza; otherwise this is a body
	// written without its path: `path { capabilities = [...] }`.
	if len(inner) == 0 || slices.ContainsFunc(inner, func(it *ast.ObjectItem) bool {
		_, isObject := it.Val.(*ast.ObjectType)
		return !isObject
	}) {
		return nil, errorAt(item.Pos(), "path stanza needs a path")
	}
	out := make([]*ast.ObjectItem, len(inner))
	for i, it := range inner {
		out[i] = &ast.ObjectItem{Keys: append([]*ast.ObjectKey{item.Keys[0]}, it.Keys...), Val: it.Val}
	}
	return out, nil
}

func parseRule(item *ast.ObjectItem) (*Rule, error) {
	pos := item.Keys[0].Pos()
	path := keyString(item.Keys[1])
	if err := checkPath(path); err != nil {
		return nil, errorAt(item.Keys[1].Pos(), "path %q: %v", path, err)
	}
	r := &Rule{Path: strings.TrimPrefix(path, "/")}
	body, err := members(item.Keys[2:], item.Val, "path stanza")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range body {
		key := keyString(f.Keys[0])
		if seen[key] {
			return nil, errorAt(f.Keys[0].Pos(), "path %q: %q is set twice", path, key)
		}
		seen[key] = true
		if err := parseField(r, key, f); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.Msg = fmt.Sprintf("path %q: %s", path, pe.Msg)
				return nil, pe
			}
			return nil, errorAt(f.Keys[0].Pos(), "path %q: %v", path, err)
		}
	}
	if r.MinWrappingTTL != 0 && r.MaxWrappingTTL != 0 && r.MaxWrappingTTL < r.MinWrappingTTL {
		return nil, errorAt(pos, "path %q: max_wrapping_ttl cannot be less than min_wrapping_ttl", path)
	}
	if r.Capabilities&Deny != 0 {
		// A denied path grants nothing; its other settings are moot.
		*r = Rule{Path: r.Path, Capabilities: Deny}
	}
	return r, nil
}

// checkPath validates a path pattern as written.
func checkPath(path string) error {
	p := strings.TrimPrefix(path, "/")
	switch {
	case p == "":
		return errors.New("empty path")
	case !utf8.ValidString(p):
		return errors.New("path is not valid UTF-8")
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return errors.New("path contains control characters")
	case strings.Contains(p, "+*"):
		return errors.New("invalid use of wildcards ('+*' is forbidden)")
	}
	return checkTemplates(p)
}

func parseField(r *Rule, key string, f *ast.ObjectItem) error {
	val := f.Val
	if len(f.Keys) > 1 {
		// Only the parameter maps nest (see members).
		switch key {
		case "allowed_parameters", "denied_parameters":
		default:
			return errorAt(f.Keys[1].Pos(), "%q must not be an object", key)
		}
	}
	switch key {
	case "comment":
		_, err := stringValue(val)
		return err
	case "capabilities":
		names, err := stringList(val)
		if err != nil {
			return err
		}
		for i, n := range names {
			c, err := ParseCapability(n)
			if err != nil {
				return errorAt(listElemPos(val, i), "%v", err)
			}
			r.Capabilities |= c
		}
	case "policy":
		s, err := stringValue(val)
		if err != nil {
			return err
		}
		c, ok := legacyPolicies[s]
		if !ok {
			return errorAt(val.Pos(), "invalid policy %q", s)
		}
		r.Capabilities |= c
	case "allowed_parameters", "denied_parameters":
		params, err := parseParams(f.Keys[1:], val, key)
		if err != nil {
			return err
		}
		if key == "allowed_parameters" {
			r.AllowedParameters = params
		} else {
			r.DeniedParameters = params
		}
	case "required_parameters":
		names, err := stringList(val)
		if err != nil {
			return err
		}
		for i := range names {
			if !utf8.ValidString(names[i]) {
				return errorAt(val.Pos(), "parameter name is not valid UTF-8")
			}
			names[i] = strings.ToLower(names[i])
		}
		r.RequiredParameters = sortedUnique(names)
	case "min_wrapping_ttl", "max_wrapping_ttl":
		d, err := durationValue(val)
		if err != nil {
			return err
		}
		if key == "min_wrapping_ttl" {
			r.MinWrappingTTL = d
		} else {
			r.MaxWrappingTTL = d
		}
	case "mfa_methods", "control_group", "subscribe_event_types":
		return errorAt(f.Keys[0].Pos(), "%q is not supported", key)
	default:
		return errorAt(f.Keys[0].Pos(), "unknown key %q", key)
	}
	return nil
}

// legacyPolicies maps the pre-0.5 `policy = "..."` values to capabilities,
// as Vault does (legacy "write" predates patch and does not grant it).
var legacyPolicies = map[string]Capability{
	"deny":  Deny,
	"read":  Read | List,
	"write": Create | Read | Update | Delete | List,
	"sudo":  Create | Read | Update | Delete | List | Sudo,
}

func parseParams(keys []*ast.ObjectKey, val ast.Node, what string) (map[string][]string, error) {
	items, err := members(keys, val, what)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	params := make(map[string][]string, len(items))
	for _, it := range items {
		if len(it.Keys) != 1 {
			return nil, errorAt(it.Pos(), "%s: parameter values must be a list", what)
		}
		name := strings.ToLower(keyString(it.Keys[0]))
		if !utf8.ValidString(name) {
			return nil, errorAt(it.Pos(), "%s: parameter name is not valid UTF-8", what)
		}
		values, err := literalList(it.Val)
		if err != nil {
			return nil, err
		}
		params = mergeParams(params, map[string][]string{name: values})
	}
	return params, nil
}

// literalList reads a list of literals (or one literal) as canonical
// strings; an empty list gives a non-nil empty slice ("any value").
func literalList(val ast.Node) ([]string, error) {
	var elems []ast.Node
	switch v := val.(type) {
	case *ast.ListType:
		elems = v.List
	case *ast.LiteralType:
		elems = []ast.Node{v}
	default:
		return nil, errorAt(val.Pos(), "expected a list of values")
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		lit, ok := e.(*ast.LiteralType)
		if !ok {
			return nil, errorAt(e.Pos(), "expected a string, number or bool")
		}
		s, err := literalString(lit)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if s := sortedUnique(out); s != nil {
		return s, nil
	}
	return []string{}, nil
}

// literalString renders a literal as the string form parameter values are
// compared in.
func literalString(lit *ast.LiteralType) (string, error) {
	switch v := lit.Token.Value().(type) {
	case string:
		if !utf8.ValidString(v) {
			return "", errorAt(lit.Pos(), "value is not valid UTF-8")
		}
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", errorAt(lit.Pos(), "unsupported value")
}

func stringValue(val ast.Node) (string, error) {
	lit, ok := val.(*ast.LiteralType)
	if !ok || (lit.Token.Type != token.STRING && lit.Token.Type != token.HEREDOC) {
		return "", errorAt(val.Pos(), "expected a string")
	}
	s, _ := lit.Token.Value().(string)
	return s, nil
}

// stringList reads a list of strings; a single string is a list of one.
func stringList(val ast.Node) ([]string, error) {
	if _, ok := val.(*ast.LiteralType); ok {
		s, err := stringValue(val)
		return []string{s}, err
	}
	list, ok := val.(*ast.ListType)
	if !ok {
		return nil, errorAt(val.Pos(), "expected a list of strings")
	}
	out := make([]string, 0, len(list.List))
	for _, e := range list.List {
		s, err := stringValue(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func listElemPos(val ast.Node, i int) token.Pos {
	if l, ok := val.(*ast.ListType); ok && i < len(l.List) {
		return l.List[i].Pos()
	}
	return val.Pos()
}

// durationValue reads a TTL with Vault's duration rules (package parse):
// seconds (3600, "3600"), a Go duration ("1h") or days ("30d").
func durationValue(val ast.Node) (time.Duration, error) {
	lit, ok := val.(*ast.LiteralType)
	if !ok {
		return 0, errorAt(val.Pos(), "expected a duration")
	}
	v := lit.Token.Value()
	switch v.(type) {
	case int64, string:
	default:
		return 0, errorAt(val.Pos(), "expected a duration")
	}
	d, err := parse.NonNegativeDuration(v)
	switch {
	case errors.Is(err, parse.ErrNegative):
		return 0, errorAt(val.Pos(), "duration must not be negative")
	case err != nil:
		return 0, errorAt(val.Pos(), "invalid duration %q", fmt.Sprint(v))
	}
	return d, nil
}
