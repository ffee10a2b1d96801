package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// genericDecode is how decodeJSONObject decodes a body without the batch
// fast path.
func genericDecode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	err := dec.Decode(&data)
	return data, err
}

// decodedItems replaces raw batch items by their decoded maps, as the
// generic decode would have produced them.
func decodedItems(t testing.TB, data map[string]any) map[string]any {
	items, ok := data[batchKey].([]json.RawMessage)
	if !ok {
		return data
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	list := make([]any, len(items))
	for i, raw := range items {
		m, err := genericDecode(raw)
		if err != nil {
			t.Fatalf("raw item %q: %v", raw, err)
		}
		list[i] = m
	}
	out[batchKey] = list
	return out
}

func TestDecodeBatchBody(t *testing.T) {
	tests := map[string]struct {
		body string
		raw  []string // the raw items expected, nil when batch_input decodes generically
	}{
		"items":             {`{"batch_input":[{"plaintext":"aGk="},{"plaintext":"aG8=","reference":"r"}]}`, []string{`{"plaintext":"aGk="}`, `{"plaintext":"aG8=","reference":"r"}`}},
		"spaces and more":   {` { "a" : 1 , "batch_input" : [ { "x" : [ "]" , { } ] } , {} ] , "b" : {"c":null} } `, []string{`{ "x" : [ "]" , { } ] }`, `{}`}},
		"last key wins":     {`{"batch_input":"first","batch_input":[{"a":"}"}]}`, []string{`{"a":"}"}`}},
		"last key wins 2":   {`{"batch_input":[{"a":1}],"batch_input":[1]}`, nil},
		"empty list":        {`{"batch_input":[]}`, nil},
		"not all objects":   {`{"batch_input":[{"a":1},2]}`, nil},
		"a string":          {`{"batch_input":"[{\"a\":1}]"}`, nil},
		"nested lists":      {`{"batch_input":[[{"a":1}]]}`, nil},
		"escaped key":       {`{"batch\u005finput":[{"a":1}],"y":{"batch_input":0}}`, []string{`{"a":1}`}},
		"escaped key only":  {`{"batch\u005finput":[{"a":1}]}`, nil},
		"unicode elsewhere": {`{"k\u00e9y":"v\u2028","batch_input":[{"\u00e9":"\ud800"}]}`, []string{`{"\u00e9":"\ud800"}`}},
	}
	for name, tc := range tests {
		got, err := decodeJSONObject([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		items, isRaw := got[batchKey].([]json.RawMessage)
		if tc.raw == nil {
			if isRaw {
				t.Errorf("%s: batch_input decoded raw: %q", name, items)
			}
		} else {
			var texts []string
			for _, it := range items {
				texts = append(texts, string(it))
			}
			if !reflect.DeepEqual(texts, tc.raw) {
				t.Errorf("%s: raw items %q, want %q", name, texts, tc.raw)
			}
		}
		want, err := genericDecode([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g := decodedItems(t, got); !reflect.DeepEqual(g, want) {
			t.Errorf("%s: decoded %#v, want %#v", name, g, want)
		}
	}
}

// FuzzDecodeBody checks decodeJSONObject, batch fast path included,
// against encoding/json: it accepts exactly the well-formed objects within
// the shape bounds, and decodes each to the same values (raw batch items
// decoded), whatever the input.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"batch_input":[{"plaintext":"aGk="},{"plaintext":"aG8=","reference":"r"}]}`,
		`{"batch_input":[{"a":"\u0000"}],"partial_failure_response_code":207}`,
		`{"batch_input":[{"a":1},]}`,
		`{"batch_input":[{"a":1}]}x`,
		`{"batch_input":[{"a":"}"}],"batch_input":[]}`,
		`{"x":"batch_input","batch_input":{"a":[1]}}`,
		`[{"batch_input":[{}]}]`,
		"{\"batch_input\":[{\"\xff\":\"\xfe\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeJSONObject(raw)
		if err != nil {
			if _, ok := logical.AsError(err); !ok {
				t.Fatalf("not a client error: %v", err)
			}
			if checkJSONShape(raw) == nil && !emptyBody(raw) {
				if _, gerr := genericDecode(raw); gerr == nil && json.Valid(raw) {
					t.Fatalf("refused a well-formed object: %v", err)
				}
			}
			return
		}
		if emptyBody(raw) {
			return
		}
		want, werr := genericDecode(raw)
		if werr != nil {
			t.Fatalf("accepted what encoding/json refuses (%v)", werr)
		}
		if g := decodedItems(t, got); !reflect.DeepEqual(g, want) {
			t.Fatalf("decoded %#v, want %#v", g, want)
		}
	})
}

// appended is a response value that writes its own JSON, like transit's
// batch results, with text that needs every kind of escaping.
type appended []string

func (a appended) AppendJSON(b []byte) []byte {
	q, _ := json.Marshal([]string(a))
	return append(b, q...)
}

func (a appended) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

// TestWriteEnvelope pins that the envelope written with appenders is byte
// for byte what encoding/json writes for it.
func TestWriteEnvelope(t *testing.T) {
	for name, env := range map[string]envelope{
		"batch": {RequestID: "id-1", Data: map[string]any{"batch_results": appended{"a", "<&>", "é\u2028"}}, MountType: "transit"},
		"all fields": {RequestID: "id-2", LeaseID: "l", Renewable: true, LeaseDuration: 30,
			Data:     map[string]any{"z": appended{}, "a": map[string]any{"n": json.Number("1"), "s": "<x>"}, "m": nil, "k\"ey": []string{"x"}},
			WrapInfo: &logical.WrapInfo{Token: "t"}, Warnings: []string{"careful & <ok>"}, Auth: &logical.Auth{ClientToken: "c"}, MountType: "transit"},
	} {
		want := httptest.NewRecorder()
		writeJSON(want, 200, env)
		got := httptest.NewRecorder()
		writeEnvelope(got, 200, &env)
		if got.Body.String() != want.Body.String() || got.Code != want.Code {
			t.Errorf("%s:\n got %s\nwant %s", name, got.Body, want.Body)
		}
		if !strings.HasSuffix(got.Body.String(), "}\n") {
			t.Errorf("%s: no newline at the end", name)
		}
		if cl := got.Header().Get("Content-Length"); cl != strconv.Itoa(got.Body.Len()) {
			t.Errorf("%s: Content-Length %q for %d bytes", name, cl, got.Body.Len())
		}
	}
}
