package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		src     string
		dev     bool
		wantErr error // nil: valid
		want    string
	}{
		"complete":                {src: "storage \"file\" { path = \"/d\" }\nlistener \"tcp\" { tls_disable = 1 }"},
		"empty file in dev mode":  {src: "", dev: true},
		"empty file":              {src: "", wantErr: ErrRequired, want: "required setting is missing: storage"},
		"no listener":             {src: `storage "inmem" {}`, wantErr: ErrRequired, want: "required setting is missing: listener"},
		"file storage needs path": {src: "storage \"file\" {}\nlistener \"tcp\" { tls_disable = 1 }", wantErr: ErrRequired, want: `v.hcl:1:1: storage "file": required setting is missing: path`},
		"bolt storage needs path in dev mode too": {src: `storage "bolt" {}`, dev: true, wantErr: ErrRequired, want: `v.hcl:1:1: storage "bolt"`},
		"TLS listener needs cert and key": {
			src:     "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"/c\" }",
			wantErr: ErrRequired, want: `v.hcl:2:10: listener "127.0.0.1:8200": required setting is missing: tls_cert_file and tls_key_file`,
		},
		"client cert flags conflict": {
			src:     "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_cert_file = \"/c\"\n tls_key_file = \"/k\"\n tls_require_and_verify_client_cert = true\n tls_disable_client_certs = true\n}",
			wantErr: ErrInvalidValue, want: `v.hcl:2:10: listener`,
		},
		"disable_clustering with postgresql": {
			src: "storage \"postgresql\" {\n ha_enabled = \"true\"\n disable_clustering = \"true\"\n}\nlistener \"tcp\" { tls_disable = 1 }",
		},
		"disable_clustering in the raft stanza": {
			src:     "storage \"raft\" {\n path = \"/d\"\n disable_clustering = \"true\"\n}\nlistener \"tcp\" { tls_disable = 1 }",
			wantErr: ErrInvalidValue, want: "v.hcl:1:1: disable_clustering: invalid value: clustering cannot be disabled with raft storage",
		},
		"disable_clustering at the top level with raft": {
			src:     "storage \"raft\" { path = \"/d\" }\nlistener \"tcp\" { tls_disable = 1 }\ndisable_clustering = true",
			wantErr: ErrInvalidValue, want: "v.hcl:1:1: disable_clustering",
		},
		"disable_clustering false with raft": {
			src: "storage \"raft\" {\n path = \"/d\"\n disable_clustering = false\n}\nlistener \"tcp\" { tls_disable = 1 }",
		},
		"default TTL above max": {
			src: "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = 1 }\ndefault_lease_ttl = \"800h\"", wantErr: ErrInvalidValue, want: "default_lease_ttl",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("v.hcl", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate(tt.dev)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}
