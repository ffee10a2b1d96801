package agent

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"
)

// parseHCL parses HCL or JSON into plain values: every block (and every
// object given as an attribute) becomes one element of a []any under its
// first key, with further keys (labels) as nested maps. hcl's own generic
// decoder is not used: it can loop forever or panic on malformed input.
func parseHCL(src []byte) (m map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, errors.New("malformed input")
		}
	}()
	f, err := hcl.ParseBytes(src)
	if err != nil {
		return nil, err
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, errors.New("no top-level object")
	}
	return objectValue(list, 0)
}

// maxDepth bounds nesting, so a hostile file cannot exhaust the stack.
const maxDepth = 32

func objectValue(list *ast.ObjectList, depth int) (map[string]any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	m := map[string]any{}
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			return nil, errors.New("item without a key")
		}
		keys := make([]string, len(it.Keys))
		for i, k := range it.Keys {
			keys[i] = k.Token.Text
			if k.Token.Type == token.STRING {
				s, err := unquote(k.Token)
				if err != nil {
					return nil, err
				}
				keys[i] = s
			}
		}
		v, err := nodeValue(it.Val, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keys[0], err)
		}
		for i := len(keys) - 1; i >= 1; i-- {
			v = map[string]any{keys[i]: v}
		}
		if _, isObj := it.Val.(*ast.ObjectType); !isObj && len(keys) == 1 {
			m[keys[0]] = v
			continue
		}
		prev, _ := m[keys[0]].([]any)
		m[keys[0]] = append(prev, v)
	}
	return m, nil
}

func nodeValue(n ast.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	switch v := n.(type) {
	case *ast.ObjectType:
		return objectValue(v.List, depth)
	case *ast.ListType:
		out := make([]any, 0, len(v.List))
		for _, e := range v.List {
			x, err := nodeValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case *ast.LiteralType:
		return literalValue(v.Token)
	}
	return nil, errors.New("unexpected value")
}

func unquote(t token.Token) (string, error) {
	if t.Text == "" {
		return "", nil
	}
	var (
		s   string
		err error
	)
	if t.JSON {
		s, err = strconv.Unquote(t.Text)
	} else {
		s, err = hclstrconv.Unquote(t.Text)
	}
	if err != nil {
		return "", errors.New("malformed string")
	}
	return s, nil
}

func literalValue(t token.Token) (v any, err error) {
	switch t.Type {
	case token.STRING:
		return unquote(t)
	case token.HEREDOC:
		defer func() {
			if recover() != nil {
				v, err = nil, errors.New("malformed heredoc")
			}
		}()
		return t.Value(), nil
	case token.NUMBER:
		n, err := strconv.ParseInt(t.Text, 0, 0)
		if err != nil {
			return nil, errors.New("number out of range")
		}
		return int(n), nil
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
