package framework

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseFields feeds arbitrary JSON bodies (as the HTTP layer decodes
// them, numbers as json.Number) to a field table of every type: decoding
// either succeeds or fails with a client error, and never panics.
func FuzzParseFields(f *testing.F) {
	for _, s := range []string{
		`{"s":"x","i":3,"b":true,"d":"1h","l":["a"],"kv":{"a":"b"},"m":{"x":1},"il":[1,2]}`,
		`{"i":"12","b":"1","d":90,"l":"a,b","kv":["a=b"],"m":"{\"x\":1}","il":"1,2"}`,
		`{"i":1e400,"d":-1,"l":[1,{}],"kv":[1],"m":[],"il":["x"]}`,
		`{"unknown":1}`,
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
		_, _, _ = parseFields(fields, data, map[string]string{"name": "x"}, true)
	})
}
