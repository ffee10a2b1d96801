package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestPrinterFormats(t *testing.T) {
	kv := &api.Secret{
		RequestID:     "r1",
		LeaseDuration: 2764800,
		Data: map[string]any{
			"password": "hunter2",
			"empty":    "",
			"max_ttl":  json.Number("90"),
			"list":     []any{"a", "b"},
		},
	}
	auth := &api.Secret{Auth: &api.SecretAuth{
		ClientToken: "s.tok", Accessor: "acc", LeaseDuration: 3600, Renewable: true,
		Policies: []string{"default"}, TokenPolicies: []string{"default"},
		Metadata: map[string]string{"user": "ann"},
	}}
	tests := map[string]struct {
		format, field string
		tty           bool
		v             *api.Secret
		want          string
		wantCode      int
	}{
		"table": {
			format: "table", v: kv,
			want: "Key                 Value\n" +
				"---                 -----\n" +
				"refresh_interval    768h\n" +
				"empty               n/a\n" +
				"list                [a b]\n" +
				"max_ttl             1m30s\n" +
				"password            hunter2\n",
		},
		"table auth": {
			format: "table", v: auth,
			want: "Key                  Value\n" +
				"---                  -----\n" +
				"token                s.tok\n" +
				"token_accessor       acc\n" +
				"token_duration       1h\n" +
				"token_renewable      true\n" +
				"token_policies       [\"default\"]\n" +
				"identity_policies    []\n" +
				"policies             [\"default\"]\n" +
				"token_meta_user      ann\n",
		},
		"json": {
			format: "json", v: &api.Secret{RequestID: "r1", Data: map[string]any{"a": "b"}},
			want: "{\n  \"request_id\": \"r1\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n" +
				"  \"renewable\": false,\n  \"data\": {\n    \"a\": \"b\"\n  },\n  \"warnings\": null\n}\n",
		},
		"yaml": {
			format: "yaml", v: &api.Secret{RequestID: "r1", LeaseDuration: 60, Data: map[string]any{"l": []any{"x"}, "num": json.Number("1.5")}},
			want: "data:\n  l:\n  - x\n  num: 1.5\nlease_duration: 60\nlease_id: \"\"\nrenewable: false\nrequest_id: r1\nwarnings: null\n",
		},
		"yml is yaml": {
			format: "yml", v: &api.Secret{Data: map[string]any{"a": "b"}},
			want: "data:\n  a: b\nlease_duration: 0\nlease_id: \"\"\nrenewable: false\nrequest_id: \"\"\nwarnings: null\n",
		},
		"field raw when piped":       {format: "table", field: "password", v: kv, want: "hunter2"},
		"field raw on a terminal":    {format: "table", field: "password", tty: true, v: kv, want: "hunter2\n"},
		"field json":                 {format: "json", field: "list", v: kv, want: "[\n  \"a\",\n  \"b\"\n]"},
		"field yaml":                 {format: "yaml", field: "list", v: kv, want: "- a\n- b"},
		"field from auth":            {format: "table", field: "token", v: auth, want: "s.tok"},
		"field of envelope":          {format: "table", field: "request_id", v: kv, want: "r1"},
		"field data without nesting": {format: "json", field: "data", v: &api.Secret{Data: map[string]any{"a": "b"}}, want: "{\n  \"a\": \"b\"\n}"},
		"field data of kv v2":        {format: "json", field: "data", v: &api.Secret{Data: map[string]any{"data": map[string]any{"a": "b"}, "metadata": nil}}, want: "{\n  \"a\": \"b\"\n}"},
		"missing field":              {format: "table", field: "nope", v: kv, wantCode: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := &printer{out: &out, errOut: &errOut, format: tc.format, field: tc.field, tty: tc.tty}
			if code := p.secret(tc.v); code != tc.wantCode {
				t.Fatalf("exit %d, want %d (%s)", code, tc.wantCode, errOut.String())
			}
			if out.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tc.want)
			}
		})
	}
}

func TestPrinterData(t *testing.T) {
	tests := map[string]struct {
		format string
		v      any
		want   string
	}{
		"map table": {format: "table", v: map[string]any{"b": 1, "a": "x"}, want: "Key    Value\n---    -----\na      x\nb      1\n"},
		"empty map": {format: "table", v: map[string]any{}, want: ""},
		"struct json": {format: "json", v: struct {
			A int `json:"a"`
		}{1}, want: "{\n  \"a\": 1\n}\n"},
		"list yaml": {format: "yaml", v: []any{"a"}, want: "- a\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			p := &printer{out: &out, errOut: &out, format: tc.format}
			p.data(tc.v)
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestHumanSeconds(t *testing.T) {
	tests := map[string]struct {
		in   int
		want string
	}{
		"zero":              {0, "0s"},
		"seconds":           {45, "45s"},
		"minutes drop 0s":   {300, "5m"},
		"minutes and secs":  {90, "1m30s"},
		"hours drop 0m0s":   {2764800, "768h"},
		"hours and seconds": {3605, "1h5s"},
		"hours and minutes": {5400, "1h30m"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := humanSeconds(tc.in); got != tc.want {
				t.Errorf("humanSeconds(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	got := table([][]string{{"Key", "Value"}, {"a", " padded "}, {"longer key", ""}})
	want := "Key           Value\na             padded\nlonger key    n/a"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
