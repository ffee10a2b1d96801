package agent

import (
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestTemplateRender(t *testing.T) {
	cache := map[Dependency]*api.Secret{
		{Path: "secret/data/app"}: {Data: map[string]any{"data": map[string]any{"password": "pw1", "user": "ann"}}},
		{Path: "pki/issue/web", Params: "common_name=a.example&ttl=1h"}: {Data: map[string]any{"certificate": "CERT"}},
		{Path: "kv1/b64"}: {Data: map[string]any{"v": "aGVsbG8="}},
	}
	get := func(d Dependency) (*api.Secret, bool) { s, ok := cache[d]; return s, ok }
	tests := []struct {
		name, text    string
		left, right   string
		missingKeyErr bool
		want          string
		wantErr       string
		incomplete    bool
	}{
		{name: "with secret", text: `{{ with secret "secret/data/app" }}{{ .Data.data.password }}{{ end }}`, want: "pw1"},
		{name: "write params", text: `{{ with secret "pki/issue/web" "ttl=1h" "common_name=a.example" }}{{ .Data.certificate }}{{ end }}`, want: "CERT"},
		{name: "range sorted", text: `{{ with secret "secret/data/app" }}{{ range $k, $v := .Data.data }}{{ $k }}={{ $v }};{{ end }}{{ end }}`, want: "password=pw1;user=ann;"},
		{name: "toJSON", text: `{{ with secret "secret/data/app" }}{{ .Data.data | toJSON }}{{ end }}`, want: `{"password":"pw1","user":"ann"}`},
		{name: "base64Decode", text: `{{ with secret "kv1/b64" }}{{ .Data.v | base64Decode }}{{ end }}`, want: "hello"},
		{name: "string functions", text: `{{ "a,b" | split "," | join "-" | toUpper }} {{ "  x " | trimSpace }} {{ replaceAll "o" "0" "foo" }}`, want: "A-B x f00"},
		{name: "delimiters", text: `[[ with secret "secret/data/app" ]][[ .Data.data.user ]][[ end ]] {{ x }}`, left: "[[", right: "]]", want: "ann {{ x }}"},
		{name: "missing secret is incomplete", text: `{{ with secret "secret/data/other" }}{{ .Data.data.x }}{{ end }}`, incomplete: true},
		{name: "missing key soft", text: `{{ with secret "secret/data/app" }}{{ .Data.data.nope }}{{ end }}`, want: "<no value>"},
		{name: "missing key error", text: `{{ with secret "secret/data/app" }}{{ .Data.data.nope }}{{ end }}`, missingKeyErr: true, wantErr: "nope"},
		{name: "bad write param", text: `{{ secret "pki/issue/web" "novalue" }}`, wantErr: "key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ParseTemplate(tt.name, tt.text, tt.left, tt.right, tt.missingKeyErr)
			if err != nil {
				t.Fatal(err)
			}
			r, err := tmpl.Render(get)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Complete == tt.incomplete {
				t.Fatalf("complete = %v", r.Complete)
			}
			if len(r.Deps) != 1 && !strings.HasPrefix(tt.name, "string") {
				t.Errorf("deps = %v", r.Deps)
			}
			if !tt.incomplete && string(r.Output) != tt.want {
				t.Errorf("output %q; want %q", r.Output, tt.want)
			}
		})
	}
}
