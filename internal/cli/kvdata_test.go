package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKV(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw.txt")
	obj := filepath.Join(dir, "obj.json")
	os.WriteFile(pw, []byte("file-secret\n"), 0o600)
	os.WriteFile(obj, []byte(`{"n": 5, "nested": {"x": true}}`), 0o600)

	tests := map[string]struct {
		stdin   string
		args    []string
		want    string // JSON of the result
		wantErr error  // errors.Is target; nil with errHas for other errors
		errHas  string
	}{
		"plain pairs":                {args: []string{"a=b", "c=d"}, want: `{"a":"b","c":"d"}`},
		"equals sign in value":       {args: []string{"url=a=b&c=d"}, want: `{"url":"a=b\u0026c=d"}`},
		"empty value":                {args: []string{"a="}, want: `{"a":""}`},
		"empty argument ignored":     {args: []string{""}, want: `{}`},
		"value from file kept exact": {args: []string{"pw=@" + pw}, want: `{"pw":"file-secret\n"}`},
		"escaped at is literal":      {args: []string{`handle=\@me`}, want: `{"handle":"@me"}`},
		"value from stdin":           {stdin: "piped", args: []string{"v=-"}, want: `{"v":"piped"}`},
		"json object from stdin":     {stdin: `{"a": 1, "b": ["x"]}`, args: []string{"-"}, want: `{"a":1,"b":["x"]}`},
		"json object from file":      {args: []string{"@" + obj}, want: `{"n":5,"nested":{"x":true}}`},
		"pair joins a json key":      {stdin: `{"a": 1}`, args: []string{"-", "a=2"}, want: `{"a":[1,"2"]}`},
		"repeated key makes a list":  {args: []string{"p=a", "p=b", "p=c"}, want: `{"p":["a","b","c"]}`},
		"missing equals":             {args: []string{"justakey"}, wantErr: errNotKeyValue},
		"stdin twice":                {stdin: "x", args: []string{"a=-", "b=-"}, wantErr: errStdinUsed},
		"missing file":               {args: []string{"a=@" + filepath.Join(dir, "nope")}, errHas: "reading file"},
		"stdin not an object":        {stdin: `[1,2]`, args: []string{"-"}, errHas: "decoding JSON object from stdin"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSession(context.Background(), Env{Stdin: strings.NewReader(tc.stdin)})
			got, err := s.parseKV(tc.args)
			switch {
			case tc.wantErr != nil || tc.errHas != "":
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("error %q lacks %q", err, tc.errHas)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Errorf("got %s, want %s", b, tc.want)
			}
		})
	}
}

func TestStringLists(t *testing.T) {
	got := stringLists(map[string]any{"a": "x", "b": []any{"y", json.Number("2")}})
	b, _ := json.Marshal(got)
	if want := `{"a":["x"],"b":["y","2"]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if stringLists(map[string]any{}) != nil {
		t.Error("empty data should send no query parameters")
	}
}
