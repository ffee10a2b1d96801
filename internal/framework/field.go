package framework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/parse"
)

// FieldType is the type of a request parameter.
type FieldType int

// The field types and the Go values they decode to.
const (
	TypeString      FieldType = iota + 1 // string; numbers and bools are accepted as text
	TypeInt                              // int; from a JSON number or a numeric string
	TypeBool                             // bool; from a JSON bool or "true"/"false"/"1"/"0"
	TypeDuration                         // time.Duration; from "90s", "1h" or integer seconds
	TypeStringSlice                      // []string; from a JSON array or "a,b,c"
	TypeKVPairs                          // map[string]string; from an object of strings or ["k=v",...]
	TypeMap                              // map[string]any; from an object or a JSON string holding one
	TypeIntSlice                         // []int; from a JSON array or "1,2,3"
	TypeObjectSlice                      // []Object; from a JSON array of objects, the HTTP layer's raw items ([]json.RawMessage), or a JSON string holding an array (batch_input)
)

func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeStringSlice:
		return "string list"
	case TypeKVPairs:
		return "map of strings"
	case TypeMap:
		return "map"
	case TypeIntSlice:
		return "integer list"
	case TypeObjectSlice:
		return "list of objects"
	}
	return fmt.Sprintf("FieldType(%d)", int(t))
}

// Field describes one request parameter.
type Field struct {
	Type FieldType
	// Default is used when the request omits the field. It is given in any
	// form the type accepts ("1h" for a duration) and converted like input.
	Default any
	// Required fields must be present in create and update requests.
	Required bool
	// Validate checks the converted value; its error text is shown to the
	// client after the field name, so it must not echo the value.
	Validate func(v any) error
	// Description is the field's help text.
	Description string
}

// errType is returned by convert when a value does not fit its type. Its
// text never contains the value, which may be secret.
var errType = errors.New("wrong type")

// convert turns raw request input into the Go value of type t.
func convert(t FieldType, raw any) (any, error) {
	switch t {
	case TypeString:
		return toString(raw)
	case TypeInt:
		return toInt(raw)
	case TypeBool:
		return toBool(raw)
	case TypeDuration:
		return toDuration(raw)
	case TypeStringSlice:
		return toStringSlice(raw)
	case TypeKVPairs:
		return toKVPairs(raw)
	case TypeMap:
		return toMap(raw)
	case TypeIntSlice:
		return toIntSlice(raw)
	case TypeObjectSlice:
		return toObjectSlice(raw)
	}
	return nil, fmt.Errorf("unknown field type %d", int(t))
}

func toString(raw any) (string, error) {
	switch v := raw.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case []string:
		if len(v) == 1 { // a query parameter given once
			return v[0], nil
		}
	}
	return "", fmt.Errorf("expected a string: %w", errType)
}

func toInt(raw any) (int, error) {
	switch v := raw.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), nil
		}
	case json.Number:
		return parseInt(v.String())
	case string:
		return parseInt(v)
	}
	return 0, fmt.Errorf("expected an integer: %w", errType)
}

func parseInt(s string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("expected an integer: %w", errType)
	}
	return int(n), nil
}

func toBool(raw any) (bool, error) {
	b, err := parse.Bool(raw)
	if err != nil {
		return false, fmt.Errorf("expected a boolean: %w", errType)
	}
	return b, nil
}

// toDuration reads durations with Vault's rules (see package parse):
// seconds, Go durations or days. A field that refuses negative values
// says so in its Validate.
func toDuration(raw any) (time.Duration, error) {
	d, err := parse.Duration(raw)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as \"90s\", \"30d\" or a number of seconds: %w", errType)
	}
	return d, nil
}

func toStringSlice(raw any) ([]string, error) {
	switch v := raw.(type) {
	case []string:
		if len(v) == 1 { // a single query parameter may still be "a,b"
			return splitList(v[0]), nil
		}
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, err := toString(e)
			if err != nil {
				return nil, fmt.Errorf("expected a list of strings: %w", errType)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return splitList(v), nil
	case json.Number:
		return []string{v.String()}, nil
	}
	return nil, fmt.Errorf("expected a list of strings: %w", errType)
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty elements.
func splitList(s string) []string {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func toKVPairs(raw any) (map[string]string, error) {
	bad := fmt.Errorf("expected a map of strings: %w", errType)
	switch v := raw.(type) {
	case map[string]string:
		return v, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, e := range v {
			s, err := toString(e)
			if err != nil {
				return nil, bad
			}
			out[k] = s
		}
		return out, nil
	case []any, []string, string:
		list, err := toStringSlice(v)
		if err != nil {
			return nil, bad
		}
		out := make(map[string]string, len(list))
		for _, kv := range list {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, bad
			}
			out[k] = val
		}
		return out, nil
	}
	return nil, bad
}

func toMap(raw any) (map[string]any, error) {
	switch v := raw.(type) {
	case map[string]any:
		return v, nil
	case string:
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&m); err == nil && m != nil {
			return m, nil
		}
	}
	return nil, fmt.Errorf("expected a map: %w", errType)
}

func toIntSlice(raw any) ([]int, error) {
	var elems []any
	switch v := raw.(type) {
	case []any:
		elems = v
	case []int:
		return v, nil
	case int, int64, float64, json.Number:
		elems = []any{v}
	case string, []string:
		list, _ := toStringSlice(v)
		for _, s := range list {
			elems = append(elems, s)
		}
	default:
		return nil, fmt.Errorf("expected a list of integers: %w", errType)
	}
	out := make([]int, 0, len(elems))
	for _, e := range elems {
		n, err := toInt(e)
		if err != nil {
			return nil, fmt.Errorf("expected a list of integers: %w", errType)
		}
		out = append(out, n)
	}
	return out, nil
}

// errObjects is toObjectSlice's error, made once: batch requests pass
// here twice each.
var errObjects = fmt.Errorf("expected a list of objects: %w", errType)

func toObjectSlice(raw any) ([]Object, error) {
	bad := errObjects
	switch v := raw.(type) {
	case []Object:
		return v, nil
	case []json.RawMessage:
		// The HTTP layer's undecoded batch items, each an object it has
		// checked well-formed.
		out := make([]Object, len(v))
		for i, e := range v {
			if t := bytes.TrimSpace(e); len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
				return nil, bad
			}
			out[i] = Object{raw: e}
		}
		return out, nil
	case []map[string]any:
		return objects(v), nil
	case string:
		var list []map[string]any
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&list); err != nil {
			return nil, bad
		}
		return objects(list), nil
	case []any:
		out := make([]Object, 0, len(v))
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, bad
			}
			out = append(out, Object{m: m})
		}
		return out, nil
	}
	return nil, bad
}

func objects(maps []map[string]any) []Object {
	if maps == nil {
		return nil
	}
	out := make([]Object, len(maps))
	for i, m := range maps {
		out[i] = Object{m: m}
	}
	return out
}
