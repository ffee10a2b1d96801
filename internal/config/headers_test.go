package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestCustomResponseHeaders(t *testing.T) {
	tests := map[string]struct {
		src     string
		want    map[string]map[string]string
		wantErr string
	}{
		"hcl": {
			src: `listener "tcp" {
  tls_disable = true
  custom_response_headers {
    "default" = {
      "Content-Security-Policy" = ["default-src 'none'", "img-src 'self'"]
      "X-Custom" = ["a"]
      "X-Vault-Foo" = ["refused"]
    }
    "2xx" = { "X-Custom" = ["two"] }
    "404" = { "X-Custom" = "nf" }
  }
}`,
			want: map[string]map[string]string{
				"default": {"Content-Security-Policy": "default-src 'none'; img-src 'self'", "X-Custom": "a"},
				"2xx":     {"X-Custom": "two"},
				"404":     {"X-Custom": "nf"},
			},
		},
		"json": {
			src:  `{"listener": {"tcp": {"tls_disable": true, "custom_response_headers": {"default": {"X-A": ["1", "2"]}, "3xx": {"X-B": ["b"]}}}}}`,
			want: map[string]map[string]string{"default": {"X-A": "1; 2"}, "3xx": {"X-B": "b"}},
		},
		"bad status":  {src: `listener "tcp" { custom_response_headers { "6xx" = { "X-A" = ["1"] } } }`, wantErr: `invalid status code "6xx"`},
		"bad code":    {src: `listener "tcp" { custom_response_headers { "20" = { "X-A" = ["1"] } } }`, wantErr: `invalid status code "20"`},
		"bad value":   {src: `listener "tcp" { custom_response_headers { "default" = { "X-A" = [1] } } }`, wantErr: `header "X-A"`},
		"not a block": {src: `listener "tcp" { custom_response_headers = "x" }`, wantErr: "custom_response_headers"},
	}
	for name, tc := range tests {
		name := name
		if strings.HasPrefix(tc.src, "{") {
			name += ".json"
		} else {
			name += ".hcl"
		}
		cfg, err := Parse(name, []byte(tc.src))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := cfg.Listeners[0].CustomResponseHeaders; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: headers = %v, want %v", name, got, tc.want)
		}
	}
}
