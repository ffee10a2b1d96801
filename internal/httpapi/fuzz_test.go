package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// FuzzLogicalPath: whatever the request line, logicalPath never panics, and
// a path it accepts has no dot or empty segments for the ACL and the
// router to disagree about.
func FuzzLogicalPath(f *testing.F) {
	for _, s := range []string{"/v1/secret/data/app", "/v1/secret/../sys", "/v1/%2e%2e/x", "/v1//a", "/v1/a%2fb", "/v1/a/./b", "/v1/", "/v1/a b", "/v1/%ZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		path, err := logicalPath(&http.Request{URL: u})
		if err != nil {
			return
		}
		for _, seg := range strings.Split(strings.TrimSuffix(path, "/"), "/") {
			if seg == "." || seg == ".." || (seg == "" && path != "") {
				t.Fatalf("accepted %q as %q", raw, path)
			}
		}
		if strings.ContainsAny(path, "\\\x00") {
			t.Fatalf("accepted %q with a backslash or NUL", path)
		}
	})
}

// FuzzDecodeJSONObject: a body either decodes to an object or is refused
// with a client error; it never panics. It agrees with encoding/json: what
// it accepts, json.Unmarshal (numbers as json.Number) decodes to the same
// object, and what it refuses, encoding/json refuses too or it exceeds one
// of the depth and size limits.
func FuzzDecodeJSONObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `null`, `[1]`, `{"a":[[[[]]]]}`, `{"a":`, `{"a":1}{}`, strings.Repeat("[", 400),
		`{"a":1,"a":2}`, " {\"\xff\":\"\\ud800\"} ", `{"a":1} x`, `"s"`, `{"a":1.5e3,"b":-0,"c":[true,null]}`,
		`{"a":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 201)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		data, err := decodeJSONObject(raw)
		if err != nil && data != nil {
			t.Fatal("data returned with an error")
		}
		if len(bytes.TrimSpace(raw)) == 0 { // an empty body is no parameters
			if err != nil || data != nil {
				t.Fatalf("empty body: %v, %v", data, err)
			}
			return
		}
		var want map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		stdErr := dec.Decode(&want)
		if stdErr == nil {
			if _, tail := dec.Token(); tail != io.EOF {
				stdErr = fmt.Errorf("data after the top-level value")
			}
		}
		if err == nil {
			if stdErr != nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", raw, stdErr)
			}
			if !reflect.DeepEqual(data, want) {
				t.Fatalf("%q decoded to %#v; encoding/json says %#v", raw, data, want)
			}
			return
		}
		var le *logical.Error
		if !errors.As(err, &le) || le.Kind != logical.KindInvalidRequest {
			t.Fatalf("refused %q without a client error: %v", raw, err)
		}
		if stdErr == nil && !limitError.MatchString(err.Error()) {
			t.Fatalf("refused %q (%v), which encoding/json decodes to %#v", raw, err, want)
		}
	})
}

// limitError matches the refusals of valid JSON that exceeds a bound.
var limitError = regexp.MustCompile(`nesting deeper than \d+ levels|more than \d+ (entries|elements)`)
