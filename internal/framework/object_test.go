package framework

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tresorhq/tresor/internal/jsonscan"
)

func TestObjectField(t *testing.T) {
	raw := `{"s":"plain","e":"a\"b\u00e9\n","u":"héllo","n":-12.5e3,"t":true,"f":false,"z":null,` +
		`"o":{"x":[1,"}"]},"a":[{"b":"]"}],"dup":"first","dup":"last","\u006bey":"escaped key"}`
	tests := map[string]struct {
		kind Kind
		text string
	}{
		"s":       {String, "plain"},
		"e":       {String, "a\"b\u00e9\n"},
		"u":       {String, "héllo"},
		"n":       {Number, "-12.5e3"},
		"t":       {Bool, "true"},
		"f":       {Bool, "false"},
		"z":       {Null, ""},
		"o":       {Composite, ""},
		"a":       {Composite, ""},
		"dup":     {String, "last"},
		"key":     {String, "escaped key"},
		"missing": {Missing, ""},
	}
	m, err := RawObject([]byte(raw)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range tests {
		for form, o := range map[string]Object{"raw": RawObject([]byte(raw)), "map": ObjectOf(m)} {
			kind, text := o.Field(k, nil)
			if kind != want.kind || string(text) != want.text {
				t.Errorf("%s %q: (%d, %q), want (%d, %q)", form, k, kind, text, want.kind, want.text)
			}
		}
	}
	if kind, text := ObjectOf(map[string]any{"i": 7, "f": 3.0, "x": []string{}}).Field("i", nil); kind != Number || string(text) != "7" {
		t.Errorf("Go int: (%d, %q)", kind, text)
	}
	if kind, _ := ObjectOf(map[string]any{"x": []string{}}).Field("x", nil); kind != Composite {
		t.Errorf("Go slice: %d", kind)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"x}`, `{"a":1} x`, `{"a":{"b":1}`} {
		if kind, _ := RawObject([]byte(bad)).Field("a", nil); kind != Composite {
			t.Errorf("malformed %q: kind %d, want Composite", bad, kind)
		}
	}
	if kind, _ := RawObject([]byte(` { } `)).Field("a", nil); kind != Missing {
		t.Errorf("empty object: kind %d", kind)
	}
}

// TestObjectFieldAllocs pins the point of raw objects: reading a plain
// string or a number allocates nothing.
func TestObjectFieldAllocs(t *testing.T) {
	o := RawObject([]byte(`{"plaintext":"NDExMSAxMTExIDExMTEgMTExMQ==","key_version":2,"reference":"r-1"}`))
	allocs := testing.AllocsPerRun(100, func() {
		o.Field("plaintext", nil)
		o.Field("key_version", nil)
		o.Field("context", nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per lookup round, want 0", allocs)
	}
}

// FuzzObjectField checks the raw reading of an object against
// encoding/json's: for every key of a well-formed object, Field gives the
// same kind and text from the raw text as from the decoded map; malformed
// text never panics.
func FuzzObjectField(f *testing.F) {
	for _, s := range []string{
		`{"plaintext":"aGk=","key_version":1}`,
		`{"a":"\ud800","b":"\u0000\t","a":"x\\y"}`,
		`{"k":[{"x":"]}"},{}],"n":1e-7,"z":null,"t":true}`,
		"{\"\xff\":\"\xfe\",\"ok\":\"caf\xc3\xa9\"}",
		` { "sp" : " a " , "e" : {} } `,
		`{"a":1}{"a":2}`,
		`{"a":"unterminated}`,
	} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, raw []byte, probe string) {
		o := RawObject(raw)
		o.Field(probe, nil) // must not panic, whatever raw is
		checkMembers(t, o, probe)
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if !json.Valid(raw) || dec.Decode(&m) != nil || m == nil {
			return
		}
		keys := []string{probe}
		for k := range m {
			keys = append(keys, k)
		}
		for _, k := range keys {
			rk, rt := o.Field(k, nil)
			mk, mt := ObjectOf(m).Field(k, nil)
			if rk != mk || !bytes.Equal(rt, mt) {
				t.Fatalf("key %q: raw (%d, %q), decoded (%d, %q)", k, rk, rt, mk, mt)
			}
		}
	})
}

// checkMembers: a Members index of o answers every key of o, and probe,
// exactly as o.Field does, whatever o's text is.
func checkMembers(t *testing.T, o Object, probe string) {
	t.Helper()
	var ix Members
	ix.Reset(o)
	keys := []string{probe, "", "a", "plaintext"}
	if o.IsRaw() {
		jsonscan.Members(o.raw, func(key, _ []byte) bool {
			var k string
			if json.Unmarshal(key, &k) == nil {
				keys = append(keys, k)
			}
			keys = append(keys, string(key[1:len(key)-1]))
			return true
		})
	}
	for _, k := range keys {
		wk, wt := o.Field(k, nil)
		gk, gt := ix.Field(k, nil)
		if gk != wk || !bytes.Equal(gt, wt) {
			t.Fatalf("%q key %q: Members (%d, %q), Field (%d, %q)", o.raw, k, gk, gt, wk, wt)
		}
	}
}

// TestMembers: the index answers as Field for well-formed, repeated,
// escaped, malformed and oversized objects and for maps, and reading a
// batch item's fields through it allocates nothing.
func TestMembers(t *testing.T) {
	for _, raw := range []string{
		`{"plaintext":"aGk=","key_version":1}`,
		`{"a":"\ud800","b":"\u0000\t","a":"x\\y"}`,
		`{"pl\u0061intext":"aGk=","plaintext":null}`,
		`{"k":[{"x":"]}"},{}],"n":1e-7,"z":null,"t":true}`,
		` { "sp" : " a " , "e" : {} } `,
		`{}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":10}`,
		`{"a":1}{"a":2}`,
		`{"a":"unterminated}`,
		`[1,2]`,
		``,
	} {
		checkMembers(t, RawObject([]byte(raw)), "i")
	}
	checkMembers(t, ObjectOf(map[string]any{"a": "x", "n": 2}), "n")

	var ix Members
	o := RawObject([]byte(`{"plaintext":"NDExMSAxMTExIDExMTEgMTExMQ==","key_version":2,"reference":"r-1"}`))
	allocs := testing.AllocsPerRun(100, func() {
		ix.Reset(o)
		for _, k := range []string{"plaintext", "context", "nonce", "key_version", "associated_data", "reference"} {
			ix.Field(k, nil)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per item, want 0", allocs)
	}
}
