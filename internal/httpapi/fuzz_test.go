package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
// with a client error; it never panics.
func FuzzDecodeJSONObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `null`, `[1]`, `{"a":[[[[]]]]}`, `{"a":`, `{"a":1}{}`, strings.Repeat("[", 400)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		data, err := decodeJSONObject(raw)
		if err != nil && data != nil {
			t.Fatal("data returned with an error")
		}
	})
}
