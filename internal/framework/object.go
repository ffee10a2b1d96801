package framework

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/tresorhq/tresor/internal/jsonscan"
)

// Object is one element of a TypeObjectSlice field (transit's batch_input):
// a JSON object held either decoded, as a map (from Go callers, or a list
// given as a JSON string), or as its raw JSON text, which is how the HTTP
// layer hands over the items of a body's batch_input, so that a batch of a
// thousand items costs no thousand maps. Field reads both forms with the
// same meaning.
type Object struct {
	m   map[string]any
	raw []byte
}

// ObjectOf wraps a decoded object.
func ObjectOf(m map[string]any) Object { return Object{m: m} }

// RawObject wraps the JSON text of an object. The text must be well-formed
// (the HTTP layer checks the whole body before it hands items over);
// malformed text reads as if every key it may hold held a Composite value.
func RawObject(raw []byte) Object { return Object{raw: raw} }

// Map returns the decoded form's map, or nil for a raw object.
func (o Object) Map() map[string]any { return o.m }

// IsRaw reports whether o holds JSON text rather than a map.
func (o Object) IsRaw() bool { return o.m == nil && o.raw != nil }

// Decode returns o as a map, decoding raw text as the HTTP layer decodes a
// body (numbers as json.Number).
func (o Object) Decode() (map[string]any, error) {
	if !o.IsRaw() {
		return o.m, nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(o.raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// MarshalJSON writes the object as JSON (raw text as it came, compacted by
// encoding/json), so that the audit log and anything else that encodes a
// request sees the same object either way.
func (o Object) MarshalJSON() ([]byte, error) {
	if o.IsRaw() {
		return o.raw, nil
	}
	return json.Marshal(o.m)
}

// Kind is the JSON type of a value read by Object.Field.
type Kind uint8

// The kinds of a value.
const (
	Missing   Kind = iota // no such key
	Null                  // null
	String                // a string
	Number                // a number
	Bool                  // true or false
	Composite             // an object, an array, or a Go value of another type
)

// Field returns the kind of key k's value and, for a string, a number or a
// bool, its text: a string decoded exactly as encoding/json decodes it, a
// number as written (what json.Number holds), "true" or "false". When a key
// repeats in raw text the last one counts, as with encoding/json. The text
// may share memory with the object or be appended to scratch[:0]; callers
// must not modify it. A map's Go numbers (int, int64, float64) read as
// Number.
func (o Object) Field(k string, scratch []byte) (Kind, []byte) {
	if !o.IsRaw() {
		return mapField(o.m, k, scratch)
	}
	if ascii(k) && bytes.IndexByte(o.raw, '\\') < 0 && !bytes.Contains(o.raw, []byte(k)) {
		// An ASCII key appears nowhere in text without escapes that
		// could spell it (invalid UTF-8 decodes to U+FFFD, never to
		// ASCII): missing, without a walk. Most items leave most
		// optional fields out, so most lookups end here.
		if t := bytes.TrimSpace(o.raw); len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}' {
			return Missing, nil
		}
		return Composite, nil
	}
	tok, ok := rawMember(o.raw, k)
	if !ok {
		return Composite, nil
	}
	if tok == nil {
		return Missing, nil
	}
	return scalarToken(tok, scratch)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func mapField(m map[string]any, k string, scratch []byte) (Kind, []byte) {
	v, ok := m[k]
	if !ok {
		return Missing, nil
	}
	switch t := v.(type) {
	case nil:
		return Null, nil
	case string:
		return String, append(scratch[:0], t...)
	case json.Number:
		return Number, append(scratch[:0], t...)
	case bool:
		return Bool, strconv.AppendBool(scratch[:0], t)
	case int:
		return Number, strconv.AppendInt(scratch[:0], int64(t), 10)
	case int64:
		return Number, strconv.AppendInt(scratch[:0], t, 10)
	case float64:
		return Number, strconv.AppendFloat(scratch[:0], t, 'f', -1, 64)
	}
	return Composite, nil
}

// scalarToken classifies a raw JSON value token.
func scalarToken(tok, scratch []byte) (Kind, []byte) {
	switch c := tok[0]; {
	case c == '"':
		text, ok := unquote(tok, scratch)
		if !ok {
			return Composite, nil
		}
		return String, text
	case c == 'n' && string(tok) == "null":
		return Null, nil
	case string(tok) == "true" || string(tok) == "false":
		return Bool, tok
	case c == '-' || ('0' <= c && c <= '9'):
		return Number, tok
	}
	return Composite, nil
}

// rawMember finds the value token of the last member named k in the JSON
// object raw: nil with ok when there is none, ok false when raw is not a
// well-formed object as far as this walk can tell.
func rawMember(raw []byte, k string) (tok []byte, ok bool) {
	ok = jsonscan.Members(raw, func(key, value []byte) bool {
		if keyIs(key, k) {
			tok = value
		}
		return true
	})
	if !ok {
		return nil, false
	}
	return tok, true
}

// plain reports whether the body of a string token reads the same decoded:
// no escapes, no control bytes, valid UTF-8.
func plain(body []byte) bool {
	ascii := true
	for _, c := range body {
		if c == '\\' || c < 0x20 {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(body)
}

// unquote decodes a string token. Plain text is returned in place; anything
// else is decoded by encoding/json, so the two can never disagree.
func unquote(tok, scratch []byte) ([]byte, bool) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return nil, false
	}
	if body := tok[1 : len(tok)-1]; plain(body) {
		return body, true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, false
	}
	return append(scratch[:0], s...), true
}

// keyIs reports whether the key token decodes to k.
func keyIs(tok []byte, k string) bool {
	body := tok[1 : len(tok)-1]
	if plain(body) {
		return string(body) == k
	}
	s, ok := unquote(tok, nil)
	return ok && string(s) == k
}

// maxMembers is how many members a Members index holds; an object with
// more is read through Field.
const maxMembers = 8

// Members indexes an object's members in one walk, so that reading
// several of its fields (a transit batch item's five or six) walks or
// searches the text once instead of once per field. Field answers exactly
// as Object.Field. The zero value holds no object; Reset indexes one, and
// one Members can serve every item of a batch in turn.
type Members struct {
	o        Object
	indexed  bool // every member is in keys and vals; else Field asks o
	n        int
	keys     [maxMembers][]byte // key tokens, quotes included
	plainKey [maxMembers]bool   // the token's body is the key as written
	vals     [maxMembers][]byte // value tokens
}

// Reset indexes o.
func (ix *Members) Reset(o Object) {
	ix.o, ix.indexed, ix.n = o, false, 0
	if !o.IsRaw() {
		return
	}
	ok := jsonscan.Members(o.raw, func(key, value []byte) bool {
		if ix.n == maxMembers {
			return false
		}
		ix.keys[ix.n], ix.vals[ix.n] = key, value
		ix.plainKey[ix.n] = plain(key[1 : len(key)-1])
		ix.n++
		return true
	})
	ix.indexed = ok
}

// Object is the object indexed.
func (ix *Members) Object() Object { return ix.o }

// Field is Object.Field of the indexed object.
func (ix *Members) Field(k string, scratch []byte) (Kind, []byte) {
	if !ix.indexed {
		return ix.o.Field(k, scratch)
	}
	// The last member of a repeated key counts, as with encoding/json.
	for i := ix.n - 1; i >= 0; i-- {
		key := ix.keys[i]
		if ix.plainKey[i] {
			if string(key[1:len(key)-1]) != k {
				continue
			}
		} else if !keyIs(key, k) {
			continue
		}
		return scalarToken(ix.vals[i], scratch)
	}
	return Missing, nil
}
