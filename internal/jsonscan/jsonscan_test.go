package jsonscan

import (
	"strings"
	"testing"
)

func TestSkipValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		end  int
		ok   bool
		name string
	}{
		{`"a\"b",`, 6, true, "string with escaped quote"},
		{`{"a":[1,{"b":"}"}]} x`, 19, true, "nested, bracket inside a string"},
		{`[1,2]`, 5, true, "array"},
		{`123,`, 3, true, "number"},
		{`true}`, 4, true, "literal"},
		{`{"a":1`, 0, false, "unterminated object"},
		{`"abc`, 0, false, "unterminated string"},
		{``, 0, false, "empty"},
		{`,`, 0, false, "no value"},
	} {
		end, ok := SkipValue([]byte(tc.in), 0)
		if end != tc.end || ok != tc.ok {
			t.Errorf("%s: SkipValue(%q) = %d, %v; want %d, %v", tc.name, tc.in, end, ok, tc.end, tc.ok)
		}
	}
	if got := SkipSpace([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("SkipSpace = %d, want 5", got)
	}
}

// skipStringRef is SkipString as first written, a byte at a time: the
// reference the quote search must agree with.
func skipStringRef(raw []byte, i int) (int, bool) {
	for i++; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// FuzzSkipString: SkipString finds the same end as a byte-at-a-time scan,
// for any text after any opening position.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"x`, `"a\\"b"`, `"a\\\"b"`, `"\\\\\\"`, `"abc\`, `"abc\"`, `"`, `""`, `x"\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for i := 0; i < len(raw) && i < 4; i++ {
			gotEnd, gotOK := SkipString(raw, i)
			wantEnd, wantOK := skipStringRef(raw, i)
			if gotEnd != wantEnd || gotOK != wantOK {
				t.Fatalf("SkipString(%q, %d) = %d, %v; want %d, %v", raw, i, gotEnd, gotOK, wantEnd, wantOK)
			}
		}
	})
}

// BenchmarkSkipString skips a batch item's key and its base64 value, and a
// long string, by the quote search and by the byte-at-a-time reference.
func BenchmarkSkipString(b *testing.B) {
	for _, s := range []struct{ name, text string }{
		{"Key", `"plaintext":`},
		{"Value40", `"NDExMSAxMTExIDExMTEgMTExMSBhbmQgbW9yZQ==",`},
		{"Value1K", `"` + strings.Repeat("QUJD", 256) + `"`},
	} {
		raw := []byte(s.text)
		for _, f := range []struct {
			name string
			skip func([]byte, int) (int, bool)
		}{{"Search", SkipString}, {"Bytewise", skipStringRef}} {
			b.Run(s.name+"/"+f.name, func(b *testing.B) {
				for b.Loop() {
					if _, ok := f.skip(raw, 0); !ok {
						b.Fatal("no end")
					}
				}
			})
		}
	}
}
