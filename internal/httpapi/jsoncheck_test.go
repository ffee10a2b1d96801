package httpapi

import (
	"strings"
	"testing"
)

// checkJSONCases are bodies at and around every rule of checkJSON.
var checkJSONCases = []string{
	`{}`, ` {} `, `{"a":1}`, `{"a":-0.5e+10,"b":[true,false,null,"s",{}],"c":{"d":[]}}`,
	`{"a":"\"\\\/\b\f\n\r\t\u00e9\uD800"}`, "{\"\xff\":\"\xfe\"}", `{"a" : [ 1 , 2 ] }`,
	// malformed
	``, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{"a":[1,]}`, `{"a":[,1]}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":1x}`, `{"a":tru}`, `{"a":truex}`,
	`{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, "{\"a\":\"\x01\"}", "{\"a\":\"tab\there\"}",
	`{"a":"unterminated}`, `{"a":1}}`, `{"a":1}{}`, `{"a":1} x`, `{"a":[}`, `{"a":{]}`, `{1:2}`, `{'a':1}`,
	`{"a":1]`, `{"a":[1}`, `{"a":"\`, "{\"a\":1}\x00",
	// not objects
	`null`, `[1]`, `"s"`, `1`, `true`, `[`, `x`,
	// bounds, well-formed and not
	strings.Repeat(`{"a":`, maxJSONDepth) + `1` + strings.Repeat(`}`, maxJSONDepth),
	strings.Repeat(`{"a":`, maxJSONDepth+1) + `1` + strings.Repeat(`}`, maxJSONDepth+1),
	`{"a":` + strings.Repeat(`[`, maxJSONDepth) + strings.Repeat(`]`, maxJSONDepth) + `}`,
	`{"a":` + strings.Repeat(`[`, maxJSONDepth) + `x`,
	`{"a":x` + strings.Repeat(`[`, maxJSONDepth),
	`{"a":[` + strings.Repeat(`0,`, maxJSONElements-1) + `0]}`,
	`{"a":[` + strings.Repeat(`0,`, maxJSONElements) + `0]}`,
	`{"a":[` + strings.Repeat(`0,`, maxJSONElements) + `x]}`,
	`{"a":[x` + strings.Repeat(`0,`, maxJSONElements) + `0]}`,
	`{` + strings.Repeat(`"k":0,`, maxJSONEntries-1) + `"k":0}`,
	`{` + strings.Repeat(`"k":0,`, maxJSONEntries) + `"k":0}`,
	`{"s":"` + strings.Repeat(`,[{`, maxJSONEntries) + `"}`,
}

// TestCheckJSON: checkJSON gives checkJSONShape's answer, error text
// included, for each case.
func TestCheckJSON(t *testing.T) {
	for _, raw := range checkJSONCases {
		sameCheck(t, []byte(raw))
	}
}

// FuzzCheckJSON: checkJSON, the one-pass check, answers every body exactly
// as checkJSONShape and json.Valid do together.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range checkJSONCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { sameCheck(t, raw) })
}

func sameCheck(t *testing.T, raw []byte) {
	t.Helper()
	got, want := checkJSON(raw), checkJSONShape(raw)
	if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
		short := string(raw)
		if len(short) > 80 {
			short = short[:80] + "…"
		}
		t.Fatalf("%q: checkJSON %v, checkJSONShape %v", short, got, want)
	}
}
