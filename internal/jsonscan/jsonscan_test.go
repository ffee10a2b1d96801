package jsonscan

import "testing"

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
