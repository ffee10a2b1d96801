package framework

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// FuzzParseFields feeds arbitrary JSON bodies (as the HTTP layer decodes
// them, numbers as json.Number) to a field table of every type: decoding
// either succeeds or fails with a client error, and never panics. What it
// accepts has the Go type the field declares, and survives a round trip: the
// decoded values, sent again as a client would send them (JSON, durations
// as strings), decode to the same values; and so do their text forms
// (numbers, bools and durations in strings, lists joined by commas), which
// the CLI and form bodies send.
func FuzzParseFields(f *testing.F) {
	for _, s := range []string{
		`{"s":"x","i":3,"b":true,"d":"1h","l":["a"],"kv":{"a":"b"},"m":{"x":1},"il":[1,2]}`,
		`{"i":"12","b":"1","d":90,"l":"a,b","kv":["a=b"],"m":"{\"x\":1}","il":"1,2"}`,
		`{"i":1e400,"d":-1,"l":[1,{}],"kv":[1],"m":[],"il":["x"]}`,
		`{"unknown":1}`,
		`{"i":120,"il":[10,-20],"d":"1h30m","l":["x","y z"],"b":false}`,
	} {
		f.Add([]byte(s))
	}
	fields := map[string]*Field{
		"s": {Type: TypeString}, "i": {Type: TypeInt}, "b": {Type: TypeBool},
		"d": {Type: TypeDuration}, "l": {Type: TypeStringSlice}, "kv": {Type: TypeKVPairs},
		"m": {Type: TypeMap}, "il": {Type: TypeIntSlice},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var data map[string]any
		if dec.Decode(&data) != nil {
			return
		}
		values, _, err := parseFields(fields, data, map[string]string{"name": "x"}, true)
		if err != nil {
			var le *logical.Error
			if !errors.As(err, &le) || le.Kind != logical.KindInvalidRequest {
				t.Fatalf("not a client error: %v", err)
			}
			return
		}
		for name, v := range values {
			if f := fields[name]; f != nil && reflect.TypeOf(v) != goTypes[f.Type] {
				t.Fatalf("field %q (%s) decoded to a %T", name, f.Type, v)
			}
		}

		for form, encode := range map[string]func(v any) any{"JSON": jsonForm, "text": textForm} {
			wire := make(map[string]any, len(values))
			for name, v := range values {
				if name != "name" {
					wire[name] = encode(v)
				}
			}
			body, err := json.Marshal(wire)
			if err != nil {
				t.Fatalf("marshal %v: %v", wire, err)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var again map[string]any
			if err := dec.Decode(&again); err != nil {
				t.Fatal(err)
			}
			values2, _, err := parseFields(fields, again, map[string]string{"name": "x"}, true)
			if err != nil {
				t.Fatalf("%s decoded to %#v, whose %s form %s fails: %v", raw, values, form, body, err)
			}
			if !reflect.DeepEqual(normalize(values), normalize(values2)) {
				t.Fatalf("%s form changes the values:\n%s\n-> %#v\n-> %s\n-> %#v", form, raw, values, body, values2)
			}
		}
	})
}

// jsonForm is how a JSON client sends v; durations go as Go strings.
func jsonForm(v any) any {
	if d, ok := v.(time.Duration); ok {
		return d.String()
	}
	return v
}

// textForm is how a command line or a form body sends v: scalars as text,
// lists joined by commas (when no element holds a comma or blanks at its
// ends, which the comma form cannot carry), durations as seconds when whole.
func textForm(v any) any {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	case time.Duration:
		if v%time.Second == 0 {
			return strconv.FormatInt(int64(v/time.Second), 10)
		}
		return v.String()
	case []int:
		parts := make([]string, len(v))
		for i, n := range v {
			parts[i] = strconv.Itoa(n)
		}
		return strings.Join(parts, ",")
	case []string:
		for _, e := range v {
			if e == "" || strings.Contains(e, ",") || strings.TrimSpace(e) != e {
				return v
			}
		}
		return strings.Join(v, ",")
	}
	return v
}

// goTypes are the Go types each field type decodes to.
var goTypes = map[FieldType]reflect.Type{
	TypeString:      reflect.TypeFor[string](),
	TypeInt:         reflect.TypeFor[int](),
	TypeBool:        reflect.TypeFor[bool](),
	TypeDuration:    reflect.TypeFor[time.Duration](),
	TypeStringSlice: reflect.TypeFor[[]string](),
	TypeKVPairs:     reflect.TypeFor[map[string]string](),
	TypeMap:         reflect.TypeFor[map[string]any](),
	TypeIntSlice:    reflect.TypeFor[[]int](),
}

// normalize makes empty and nil slices and maps compare equal.
func normalize(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
			v = nil
		}
		out[k] = v
	}
	return out
}
