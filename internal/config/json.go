package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// parseJSON builds the same syntax tree HCL yields from a JSON document.
// hcl's own JSON parser drops every position, which error messages need, so
// this one walks encoding/json's token stream instead. Nested objects are
// left as written; the decoder reads {"listener": {"tcp": {...}}} the same
// as listener "tcp" {...}.
func parseJSON(name string, src []byte) (*ast.ObjectList, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(src, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// se.Error() quotes at most the one offending character.
			return nil, fmt.Errorf("%s: %w: %s", at(name, position(src, int(se.Offset)-1)), ErrSyntax, se.Error())
		}
		return nil, fmt.Errorf("%s: %w: invalid JSON", name, ErrSyntax)
	}
	p := &jsonParser{src: src, dec: json.NewDecoder(bytes.NewReader(src))}
	p.dec.UseNumber()
	tok, pos, err := p.next()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: invalid JSON", name, ErrSyntax)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s: %w: the document must be a JSON object", at(name, pos), ErrSyntax)
	}
	list, err := p.object()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: invalid JSON", name, ErrSyntax)
	}
	return list, nil
}

// jsonParser converts an already validated JSON document to HCL's AST.
type jsonParser struct {
	src []byte
	dec *json.Decoder

	// Line counting resumes where the previous token's left off, keeping
	// positions linear in the document size.
	off, line, lineStart int
}

// next returns the next token and where it starts. The decoder reports
// where the previous token ended; separators and blanks lie in between.
func (p *jsonParser) next() (json.Token, token.Pos, error) {
	off := int(p.dec.InputOffset())
	for off < len(p.src) && strings.IndexByte(" \t\r\n,:", p.src[off]) >= 0 {
		off++
	}
	pos := p.position(off)
	tok, err := p.dec.Token()
	return tok, pos, err
}

// object reads members up to and including the closing brace.
func (p *jsonParser) object() (*ast.ObjectList, error) {
	list := &ast.ObjectList{}
	for {
		tok, pos, err := p.next()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return list, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		list.Add(&ast.ObjectItem{
			Keys: []*ast.ObjectKey{{Token: token.Token{Type: token.STRING, Pos: pos, Text: strconv.Quote(key), JSON: true}}},
			Val:  val,
		})
	}
}

// value reads one value of any kind.
func (p *jsonParser) value() (ast.Node, error) {
	tok, pos, err := p.next()
	if err != nil {
		return nil, err
	}
	lit := func(typ token.Type, text string) ast.Node {
		return &ast.LiteralType{Token: token.Token{Type: typ, Pos: pos, Text: text, JSON: true}}
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			list, err := p.object()
			if err != nil {
				return nil, err
			}
			return &ast.ObjectType{Lbrace: pos, List: list}, nil
		case '[':
			l := &ast.ListType{Lbrack: pos}
			for p.dec.More() {
				elem, err := p.value()
				if err != nil {
					return nil, err
				}
				l.Add(elem)
			}
			if _, _, err := p.next(); err != nil { // the closing bracket
				return nil, err
			}
			return l, nil
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return lit(token.STRING, strconv.Quote(v)), nil
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return lit(token.FLOAT, string(v)), nil
		}
		return lit(token.NUMBER, string(v)), nil
	case bool:
		return lit(token.BOOL, strconv.FormatBool(v)), nil
	case nil:
		// As in hcl: null reads as an empty string.
		return lit(token.STRING, ""), nil
	}
	return nil, errors.New("unexpected token")
}

// position converts an offset at or after the previous one to a position.
func (p *jsonParser) position(off int) token.Pos {
	if p.line == 0 {
		p.line = 1
	}
	for ; p.off < off; p.off++ {
		if p.src[p.off] == '\n' {
			p.line++
			p.lineStart = p.off + 1
		}
	}
	return token.Pos{Offset: off, Line: p.line, Column: off - p.lineStart + 1}
}

// position converts a byte offset in src to a line and column.
func position(src []byte, off int) token.Pos {
	off = max(0, min(off, len(src)))
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(src[:off], '\n')
	return token.Pos{Offset: off, Line: line, Column: col}
}
