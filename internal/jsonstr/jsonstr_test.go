package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

func want(t testing.TB, s string, html bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppend(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\`, "\b\f\n\r\t\x00\x07\x1f\x7f", "<a href='x'>&amp;</a>",
		"é 中 😀", "\u2028\u2029", "bad\xff\xc3(\xe2\x80", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"} {
		for _, html := range []bool{true, false} {
			if got, w := Append([]byte("x"), s, html), append([]byte("x"), want(t, s, html)...); !bytes.Equal(got, w) {
				t.Errorf("Append(%q, html %v) = %s, want %s", s, html, got, w)
			}
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"a<b", "\u2028", "\xff", "\"\\\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{true, false} {
			if got, w := Append(nil, s, html), want(t, s, html); !bytes.Equal(got, w) {
				t.Fatalf("Append(%q, html %v) = %s, want %s", s, html, got, w)
			}
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	pem := "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVu\n-----END CERTIFICATE-----\n"
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = Append(buf[:0], pem, true)
	}
}

func TestAppendStringsAndMap(t *testing.T) {
	ss := []string{"a", "<b>", "é\u2028", "q\"", "\n"}
	m := map[string]string{"z": "1", "<k>": "&", "é": "\x00", "A": "", "a\"": "x", "b": "y", "c": "z", "d": "w", "e": "v"}
	for _, html := range []bool{true, false} {
		for name, v := range map[string]any{"strings": ss, "map": m, "empty strings": []string{}, "empty map": map[string]string{}} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch v := v.(type) {
			case []string:
				got = AppendStrings(nil, v, html)
			case map[string]string:
				got = AppendStringMap(nil, v, html)
			}
			if w := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
				t.Errorf("%s (html %v) = %s, want %s", name, html, got, w)
			}
		}
	}
}
