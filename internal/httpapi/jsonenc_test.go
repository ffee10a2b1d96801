package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"time"
)

// jsonShapes are values as responses hold them, with text that needs
// every kind of escaping.
var jsonShapes = map[string]any{
	"nil":              nil,
	"plain string":     "hvs.CAESIJ",
	"html":             "<b>&amp;</b>",
	"quotes":           `a"b\c`,
	"control":          "tab\there\nnul\x00 bell\x07 \b\f\r\x1f\x7f",
	"unicode":          "é ü 中 \u2028 \u2029 😀",
	"invalid utf8":     "a\xffb\xc3",
	"bools":            []any{true, false},
	"ints":             []any{0, -1, math.MaxInt64, int64(math.MinInt64), int32(7), uint64(math.MaxUint64), uint32(9)},
	"float":            3.5,
	"number":           json.Number("12.50"),
	"time":             time.Date(2026, 11, 30, 9, 0, 0, 5, time.UTC),
	"nil map":          map[string]any(nil),
	"empty map":        map[string]any{},
	"nil slice":        []any(nil),
	"nil strings":      []string(nil),
	"nil string map":   map[string]string(nil),
	"strings":          []string{"a", "<", "é"},
	"string map":       map[string]string{"z": "1", "a": "<2>", "é": "3", "A": ""},
	"raw compact":      json.RawMessage(`{"password":"s3cr3t","n":[1,2.5e3,null,true],"nested":{"k":"v w"}}`),
	"raw spaced":       json.RawMessage(`{ "a" : 1 }`),
	"raw html":         json.RawMessage(`{"a":"<script>"}`),
	"raw line sep":     json.RawMessage("{\"a\":\"\u2028\"}"),
	"raw escaped":      json.RawMessage(`{"a":"q\"uote\\","b":"\u003c"}`),
	"raw nil":          json.RawMessage(nil),
	"typed nil":        (*time.Time)(nil),
	"kv read metadata": map[string]any{"created_time": "2026-11-30T09:00:00.123456789Z", "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": 3},
	"nested": map[string]any{"b": []any{map[string]any{"x": "<", "y": []string{}}, nil, 1.25},
		"a": map[string]string{"k": "v"}, "c": map[string]any{"deep": map[string]any{"er": json.RawMessage(`[1,2]`)}}},
}

// TestAppendJSONValue pins that whatever appendJSONValue writes is byte
// for byte what encoding/json writes, and that it writes the shapes it
// exists for.
func TestAppendJSONValue(t *testing.T) {
	mustWrite := map[string]bool{"nil": true, "plain string": true, "html": true, "unicode": true, "bools": true,
		"quotes": true, "control": true, "invalid utf8": true,
		"ints": true, "nil map": true, "strings": true, "string map": true, "raw compact": true, "raw nil": true,
		"kv read metadata": true, "raw escaped": true}
	for name, v := range jsonShapes {
		want, werr := json.Marshal(v)
		got, ok := appendJSONValue([]byte("prefix"), v)
		if !ok {
			if mustWrite[name] {
				t.Errorf("%s: left to encoding/json", name)
			}
			continue
		}
		if werr != nil {
			t.Errorf("%s: written, but encoding/json refuses it: %v", name, werr)
			continue
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%s:\n got %s\nwant prefix%s", name, got, want)
		}
	}
}

// TestWriteEnvelopeShapes writes whole envelopes through the fast path
// and compares them with encoding/json's.
func TestWriteEnvelopeShapes(t *testing.T) {
	for name, data := range map[string]map[string]any{
		"all shapes": jsonShapes,
		"nil data":   nil,
		"kv read":    {"data": json.RawMessage(`{"api_key":"sk-123"}`), "metadata": jsonShapes["kv read metadata"]},
	} {
		env := envelope{RequestID: "9f0c-<id>", Data: data, Warnings: []string{"w & <w>"}, MountType: "kv"}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(env); err != nil {
			t.Fatal(err)
		}
		got := httptest.NewRecorder()
		writeEnvelope(got, 200, &env)
		if got.Body.String() != want.String() {
			t.Errorf("%s:\n got %s\nwant %s", name, got.Body.String(), want.String())
		}
	}
}

// FuzzAppendJSONValue checks appendJSONValue against encoding/json on
// values decoded from arbitrary JSON, and on arbitrary bytes as a string
// and as raw JSON.
func FuzzAppendJSONValue(f *testing.F) {
	for _, seed := range []string{`{"a":1,"b":[true,null,"x<y"]}`, `{ "sp" : "a b" }`, "\"\u2028\"", `[1.5,-0,1e400]`, "\xff", `{"k":{"n":{"m":[]}}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		values := []any{string(in), json.RawMessage(in)}
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			values = append(values, intsOf(v))
		}
		for _, v := range values {
			got, ok := appendJSONValue(nil, v)
			if !ok {
				continue
			}
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%#v: written as %s, but encoding/json refuses it: %v", v, got, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
			}
		}
	})
}

// intsOf turns the numbers of a decoded value that fit an int64 into
// int64s, so the fuzzer reaches the integer cases too.
func intsOf(v any) any {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		return t
	case map[string]any:
		for k, x := range t {
			t[k] = intsOf(x)
		}
	case []any:
		for i, x := range t {
			t[i] = intsOf(x)
		}
	}
	return v
}
