package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"

	"github.com/tresorhq/tresor/internal/parse"
)

// The reasons below end up in error messages; none of them quotes the value.

// literal converts a literal token to string, int64, float64 or bool. It
// replaces token.Value, which panics on out-of-range numbers and bad escapes.
func literal(t token.Token) (v any, err error) {
	switch t.Type {
	case token.STRING:
		if t.Text == "" { // JSON null
			return "", nil
		}
		unquote := hclstrconv.Unquote
		if t.JSON {
			unquote = strconv.Unquote
		}
		s, err := unquote(t.Text)
		if err != nil {
			return nil, errors.New("malformed string")
		}
		return s, nil
	case token.HEREDOC:
		defer func() {
			if recover() != nil {
				v, err = nil, errors.New("malformed heredoc")
			}
		}()
		return t.Value(), nil
	case token.NUMBER:
		n, err := strconv.ParseInt(t.Text, 0, 64)
		if err != nil {
			return nil, errors.New("number out of range")
		}
		return n, nil
	case token.FLOAT:
		f, err := strconv.ParseFloat(t.Text, 64)
		if err != nil {
			return nil, errors.New("number out of range")
		}
		return f, nil
	case token.BOOL:
		return t.Text == "true", nil
	}
	return nil, errors.New("unexpected token")
}

// toAny converts any value node to plain Go values, for JSON encoding.
// Nested blocks become lists of objects, as hcl's decoder makes them.
func toAny(n ast.Node) (any, error) {
	switch v := n.(type) {
	case *ast.LiteralType:
		return literal(v.Token)
	case *ast.ListType:
		out := make([]any, 0, len(v.List))
		for _, elem := range v.List {
			e, err := toAny(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case *ast.ObjectType:
		return objectToMap(v.List)
	}
	return nil, errors.New("unexpected value")
}

// objectToMap converts the body of an object or block.
func objectToMap(list *ast.ObjectList) (map[string]any, error) {
	m := make(map[string]any)
	blocks := make(map[string]bool)
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			return nil, errors.New("item without a key")
		}
		v, err := toAny(it.Val)
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(it.Keys))
		for i, k := range it.Keys {
			name, err := literalKey(k)
			if err != nil {
				return nil, err
			}
			keys[i] = name
		}
		for i := len(keys) - 1; i >= 1; i-- { // retry_join "a" {...}
			v = map[string]any{keys[i]: v}
		}
		_, isObj := it.Val.(*ast.ObjectType)
		if !isObj && len(keys) == 1 {
			m[keys[0]] = v
			continue
		}
		if !blocks[keys[0]] {
			m[keys[0]] = []any{}
			blocks[keys[0]] = true
		}
		m[keys[0]] = append(m[keys[0]].([]any), v)
	}
	return m, nil
}

// literalKey is the text of a key, unquoted.
func literalKey(k *ast.ObjectKey) (string, error) {
	if k.Token.Type != token.STRING {
		return k.Token.Text, nil
	}
	v, err := literal(k.Token)
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return s, nil
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errors.New("want a string")
	}
	return s, nil
}

// asBool reads booleans with Vault's rule (package parse): true, false,
// "true", "t", "1", 1 and their false counterparts, in any case.
func asBool(v any) (bool, error) {
	b, err := parse.Bool(v)
	if err != nil {
		return false, errors.New("want a boolean: true, false, 1 or 0")
	}
	return b, nil
}

// asInt accepts a whole number, bare or quoted.
func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
			return int64(n), nil
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, errors.New("want a whole number")
}

// asDuration reads durations with Vault's rules (package parse): a number
// of seconds (bare or quoted), a Go duration ("1h30m"), or whole days
// ("30d"). Negative durations are refused.
func asDuration(v any) (time.Duration, error) {
	return parse.NonNegativeDuration(v)
}

// asLogLevel accepts Vault's level names in any case.
func asLogLevel(v any) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", err
	}
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "trace", "debug", "info", "warn", "error":
		return l, nil
	case "warning":
		return "warn", nil
	}
	return "", errors.New("want trace, debug, info, warn or error")
}

// asLogFormat accepts Vault's "standard" (our "text") or "json".
func asLogFormat(v any) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", err
	}
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "standard", "text":
		return "text", nil
	case "json":
		return "json", nil
	}
	return "", errors.New(`want "standard" or "json"`)
}

// asTLSVersion accepts tls10 to tls13.
func asTLSVersion(v any) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", err
	}
	l := strings.ToLower(strings.TrimSpace(s))
	if _, ok := tlsVersions[l]; !ok {
		return "", fmt.Errorf("want one of tls10, tls11, tls12, tls13")
	}
	return l, nil
}
