package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBad(t *testing.T) {
	tests := map[string]struct {
		name    string
		src     string
		wantErr error
		want    string // the message starts with this
	}{
		"malformed HCL": {
			name: "config.hcl", src: "ui = true\nlistener \"tcp\" {\n  address = \n}\n",
			wantErr: ErrSyntax, want: "config.hcl:4:1: syntax error",
		},
		"unclosed block": {
			name: "config.hcl", src: "storage \"file\" {\n  path = \"/x\"\n",
			wantErr: ErrSyntax, want: "config.hcl:",
		},
		"malformed JSON": {
			name: "config.json", src: "{\n  \"ui\": true,\n  \"log_level\" \"info\"\n}",
			wantErr: ErrSyntax, want: "config.json:3:15: syntax error",
		},
		"JSON that is not an object": {
			name: "config.json", src: `["listener"]`,
			wantErr: ErrSyntax, want: "config.json:1:1: syntax error",
		},
		"unknown top-level key": {
			name: "config.hcl", src: "ui = true\n\nlistner \"tcp\" {\n}\n",
			wantErr: ErrUnknownKey, want: `config.hcl:3:1: unknown key "listner"`,
		},
		"unknown listener key": {
			name: "config.hcl", src: "listener \"tcp\" {\n  tls_disable = true\n  adress = \"x\"\n}\n",
			wantErr: ErrUnknownKey, want: `config.hcl:3:3: unknown key "adress" in listener`,
		},
		"unknown JSON key": {
			name: "c.json", src: "{\n  \"storage\": {\"file\": {\"path\": \"/x\"}},\n  \"uii\": true\n}",
			wantErr: ErrUnknownKey, want: `c.json:3:3: unknown key "uii"`,
		},
		"two storage blocks": {
			name: "config.hcl", src: "storage \"file\" { path = \"/a\" }\nstorage \"bolt\" { path = \"/b\" }\n",
			wantErr: ErrDuplicateStorage, want: "config.hcl:2:1: storage: storage may be declared only once (first declared at config.hcl:1:1)",
		},
		"storage and legacy backend": {
			name: "config.hcl", src: "backend \"file\" { path = \"/a\" }\nstorage \"file\" { path = \"/b\" }\n",
			wantErr: ErrDuplicateStorage, want: "config.hcl:2:1:",
		},
		"disable_clustering not a boolean in the storage stanza": {
			name: "config.hcl", src: "storage \"postgresql\" {\n  disable_clustering = \"maybe\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:9: storage.disable_clustering: invalid value: want a boolean",
		},
		"disable_clustering not a boolean": {
			name: "config.hcl", src: "disable_clustering = \"maybe\"\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: disable_clustering: invalid value: want a boolean",
		},
		"bad duration": {
			name: "config.hcl", src: "default_lease_ttl = \"forever\"\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: default_lease_ttl: invalid value: want a duration",
		},
		"negative TTL": {
			name: "config.hcl", src: "max_lease_ttl = \"-5m\"\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: max_lease_ttl: invalid value: must not be negative",
		},
		"TTL overflow": {
			name: "config.hcl", src: "max_lease_ttl = 99999999999999\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: max_lease_ttl:",
		},
		"bad bool": {
			name: "config.hcl", src: "listener \"tcp\" {\n  tls_disable = \"yes\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:2:3: tls_disable: invalid value: want a boolean",
		},
		"bool out of range": {
			name: "config.hcl", src: "disable_mlock = 2\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: disable_mlock:",
		},
		"bad TLS version": {
			name: "config.hcl", src: "listener \"tcp\" {\n  tls_min_version = \"ssl3\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:2:3: tls_min_version: invalid value",
		},
		"TLS min above max": {
			name: "config.hcl", src: "listener \"tcp\" {\n  tls_min_version = \"tls13\"\n  tls_max_version = \"tls12\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:10: tls_min_version",
		},
		"bad log level": {
			name: "config.hcl", src: "log_level = \"loud\"\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: log_level: invalid value",
		},
		"bad log format": {
			name: "config.hcl", src: "log_format = \"xml\"\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: log_format: invalid value",
		},
		"listener without type": {
			name: "config.hcl", src: "listener {\n  address = \"127.0.0.1:8200\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: listener: invalid value: missing the type label",
		},
		"storage without type": {
			name: "config.hcl", src: "storage {\n  path = \"/x\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: storage: invalid value: missing the type label",
		},
		"unix listener": {
			name: "config.hcl", src: "listener \"unix\" {\n  address = \"/run/tresor.sock\"\n}\n",
			wantErr: ErrUnsupported, want: `config.hcl:1:10: listener "unix": not supported`,
		},
		"unknown listener type": {
			name: "config.hcl", src: "listener \"udp\" {}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:10: listener: invalid value",
		},
		"string setting given a block": {
			name: "config.hcl", src: "api_addr {\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: api_addr: invalid value: want a single value",
		},
		"string setting given a number": {
			name: "config.hcl", src: "cluster_name = 5\n",
			wantErr: ErrInvalidValue, want: "config.hcl:1:1: cluster_name: invalid value: want a string",
		},
		"bad max_request_size": {
			name: "config.hcl", src: "listener \"tcp\" {\n  max_request_size = \"big\"\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:2:3: max_request_size: invalid value: want a whole number",
		},
		"number out of range": {
			name: "config.hcl", src: "storage \"file\" {\n  path = 99999999999999999999999\n}\n",
			wantErr: ErrInvalidValue, want: "config.hcl:2:3: storage.path: invalid value: number out of range",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(tt.name, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error", c)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

// TestErrorsHideValues checks that no error quotes a value, using a secret
// placed next to each kind of mistake.
func TestErrorsHideValues(t *testing.T) {
	const secret = "s3cretpw"
	tests := map[string]struct{ name, src string }{
		"syntax error after the secret": {"pg.hcl", `storage "postgresql" { connection_url = "postgres://u:s3cretpw@db" } }`},
		"unquoted secret":               {"pg.hcl", "storage \"postgresql\" {\n  connection_url = postgres://u:s3cretpw@db\n}\n"},
		"secret as a bare word":         {"pg.hcl", "s3cretpw\n"},
		"secret as a bad value":         {"pg.hcl", `log_level = "s3cretpw"`},
		"secret as a bad TTL":           {"pg.hcl", `default_lease_ttl = "s3cretpw"`},
		"secret in a bad JSON value":    {"pg.json", `{"storage": {"postgresql": {"connection_url": s3cretpw}}}`},
		"secret in JSON list":           {"pg.json", `{"api_addr": ["s3cretpw"]}`},
		"secret in a list element":      {"pg.hcl", `x = [ "a" s3cretpw ]`},
		"secret in an audit option":     {"pg.hcl", `audit "socket" "s" { options { token = ["s3cretpw"] } }`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tt.name, []byte(tt.src))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error echoes the secret: %q", err)
			}
		})
	}
}
