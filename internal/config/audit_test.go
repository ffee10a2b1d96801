package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdoutDevice is the device of OpenBao's documented example.
var stdoutDevice = AuditDevice{
	Type:        "file",
	Path:        "to-stdout/",
	Description: "This audit device should never fail.",
	Options:     map[string]string{"file_path": "/dev/stdout", "log_raw": "true"},
}

func TestParseAudit(t *testing.T) {
	tests := map[string]struct {
		name     string
		src      string
		want     []AuditDevice
		warnings []string
	}{
		"HCL as documented": {
			name: "a.hcl",
			src: `
audit "file" "to-stdout" {
  description = "This audit device should never fail."
  options {
    file_path = "/dev/stdout"
    log_raw   = "true"
  }
}
`,
			want: []AuditDevice{stdoutDevice},
		},
		"JSON list as documented": {
			name: "a.json",
			src: `{"audit": [{"file": {"to-stdout": {
  "description": "This audit device should never fail.",
  "options": {"file_path": "/dev/stdout", "log_raw": "true"}}}}]}`,
			want: []AuditDevice{stdoutDevice},
		},
		"JSON object form": {
			name: "a.json",
			src: `{"audit": {"file": {"to-stdout": {
  "description": "This audit device should never fail.",
  "options": {"file_path": "/dev/stdout", "log_raw": "true"}}}}}`,
			want: []AuditDevice{stdoutDevice},
		},
		"several stanzas keep file order": {
			name: "a.hcl",
			src: `
audit "socket" "sock/" {
  local = "true"
  options {
    address     = "127.0.0.1:9090"
    socket_type = "tcp"
  }
}
audit "file" "a" {}
audit "syslog" "z" { options { tag = "tresor" } }
`,
			want: []AuditDevice{
				{Type: "socket", Path: "sock/", Local: true, Options: map[string]string{"address": "127.0.0.1:9090", "socket_type": "tcp"}},
				{Type: "file", Path: "a/", Options: map[string]string{}},
				{Type: "syslog", Path: "z/", Options: map[string]string{"tag": "tresor"}},
			},
		},
		"one type block holding two paths": {
			name: "a.hcl",
			src:  "audit \"file\" {\n  one { options { file_path = \"/1\" } }\n  two {}\n}\n",
			want: []AuditDevice{
				{Type: "file", Path: "one/", Options: map[string]string{"file_path": "/1"}},
				{Type: "file", Path: "two/", Options: map[string]string{}},
			},
		},
		"option scalars become strings": {
			name: "a.hcl",
			src: `
audit "file" "f" {
  options {
    log_raw     = true
    hmac_accessor = false
    mode        = 0600
    ratio       = 1.5
    big         = 1e3
    prefix      = ""
  }
}
`,
			want: []AuditDevice{{Type: "file", Path: "f/", Options: map[string]string{
				"log_raw": "true", "hmac_accessor": "false", "mode": "384", "ratio": "1.5", "big": "1000", "prefix": "",
			}}},
		},
		"JSON option scalars become strings": {
			name: "a.json",
			src:  `{"audit": {"file": {"f": {"local": 1, "options": {"log_raw": true, "mode": 600, "x": null}}}}}`,
			want: []AuditDevice{{Type: "file", Path: "f/", Local: true, Options: map[string]string{
				"log_raw": "true", "mode": "600", "x": "",
			}}},
		},
		"repeated keys warn and the last wins": {
			name: "a.hcl",
			src:  "audit \"file\" \"f\" {\n  description = \"a\"\n  description = \"b\"\n  options { x = 1 }\n  options { y = 2 }\n}\n",
			want: []AuditDevice{{Type: "file", Path: "f/", Description: "b", Options: map[string]string{"y": "2"}}},
			warnings: []string{
				`a.hcl:3:3: "description" is set more than once; the last value wins`,
				`a.hcl:5:3: "options" is set more than once; the last value wins`,
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(tt.name, []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := defaults()
			want.Audit = tt.want
			want.Warnings = tt.warnings
			if got := withoutPositions(c); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseAuditBad(t *testing.T) {
	tests := map[string]struct {
		name    string
		src     string
		wantErr error
		want    string // the message starts with this
	}{
		"no labels": {
			name: "a.hcl", src: "audit {\n  description = \"x\"\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:1:1: audit: invalid value: missing the type label, as in audit "TYPE" "PATH" { ... }`,
		},
		"no path label": {
			name: "a.hcl", src: "audit \"file\" {\n  description = \"x\"\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:1:7: audit: invalid value: missing the path label`,
		},
		"no path label, empty body": {
			name: "a.hcl", src: `audit "file" {}`,
			wantErr: ErrInvalidValue, want: `a.hcl:1:7: audit: invalid value: missing the path label`,
		},
		"JSON without path": {
			name: "a.json", src: "{\"audit\": [\n  {\"file\": {\"description\": \"x\"}}\n]}",
			wantErr: ErrInvalidValue, want: `a.json:2:4: audit: invalid value: missing the path label`,
		},
		"three labels": {
			name: "a.hcl", src: `audit "file" "p" "extra" {}`,
			wantErr: ErrInvalidValue, want: `a.hcl:1:18: audit: invalid value: too many labels`,
		},
		"empty path": {
			name: "a.hcl", src: `audit "file" "" {}`,
			wantErr: ErrInvalidValue, want: `a.hcl:1:14: audit: invalid value: empty path label`,
		},
		"empty type": {
			name: "a.hcl", src: `audit "" "p" {}`,
			wantErr: ErrInvalidValue, want: `a.hcl:1:7: audit: invalid value: empty type label`,
		},
		"duplicate path": {
			name: "a.hcl", src: "audit \"file\" \"p\" {}\naudit \"syslog\" \"p/\" {}\n",
			wantErr: ErrDuplicateAuditPath, want: `a.hcl:2:16: audit: audit path may be declared only once (first declared at a.hcl:1:14)`,
		},
		"duplicate path in JSON": {
			name: "a.json", src: "{\"audit\": [\n {\"file\": {\"p\": {}}},\n {\"file\": {\"p\": {}}}\n]}",
			wantErr: ErrDuplicateAuditPath, want: `a.json:3:12: audit: audit path may be declared only once (first declared at a.json:2:12)`,
		},
		"unknown key": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  file_path = \"/x\"\n}\n",
			wantErr: ErrUnknownKey, want: `a.hcl:2:3: unknown key "file_path" in audit`,
		},
		"unknown key in JSON": {
			name: "a.json", src: "{\"audit\": {\"file\": {\"p\": {\n  \"type\": \"file\"\n}}}}",
			wantErr: ErrUnknownKey, want: `a.json:2:3: unknown key "type" in audit`,
		},
		"options not a map": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  options = \"file_path=/x\"\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:2:3: options: invalid value: want a map`,
		},
		"options a JSON list": {
			name: "a.json", src: `{"audit": {"file": {"p": {"options": [{"file_path": "/x"}]}}}}`,
			wantErr: ErrInvalidValue, want: `a.json:1:27: options: invalid value: want a map`,
		},
		"labeled options": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  options \"x\" { file_path = \"/x\" }\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:2:3: options: invalid value: want a map`,
		},
		"list option value": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  options {\n    file_path = [\"/x\"]\n  }\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:3:5: options.file_path: invalid value: want a single value`,
		},
		"object option value in JSON": {
			name: "a.json", src: "{\"audit\": {\"file\": {\"p\": {\"options\": {\n  \"file_path\": {\"a\": 1}\n}}}}}",
			wantErr: ErrInvalidValue, want: `a.json:2:3: options.file_path: invalid value: want a single value`,
		},
		"bad local": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  local = \"sometimes\"\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:2:3: local: invalid value: want a boolean`,
		},
		"description not a string": {
			name: "a.hcl", src: "audit \"file\" \"p\" {\n  description = 3\n}\n",
			wantErr: ErrInvalidValue, want: `a.hcl:2:3: description: invalid value: want a string`,
		},
		"audit as a value": {
			name: "a.hcl", src: `audit = "file"`,
			wantErr: ErrInvalidValue, want: `a.hcl:1:1: audit: invalid value: missing the type label`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(tt.name, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error", c.Audit)
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

func TestLoadFilesAudit(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.hcl":  "audit \"file\" \"to-stdout\" {\n  options { file_path = \"/dev/stdout\" }\n}\n",
		"b.json": `{"audit": [{"syslog": {"sys": {"description": "second"}}}]}`,
		"c.hcl":  "\n\naudit \"socket\" \"to-stdout/\" {}\n",
	})
	a, b, c := filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.json"), filepath.Join(dir, "c.hcl")

	t.Run("files append", func(t *testing.T) {
		cfg, err := LoadFiles(a, b)
		if err != nil {
			t.Fatal(err)
		}
		want := []AuditDevice{
			{Type: "file", Path: "to-stdout/", Options: map[string]string{"file_path": "/dev/stdout"}},
			{Type: "syslog", Path: "sys/", Description: "second", Options: map[string]string{}},
		}
		if got := withoutPositions(cfg).Audit; !reflect.DeepEqual(got, want) {
			t.Errorf("Audit:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("duplicate path across files", func(t *testing.T) {
		_, err := LoadFiles(a, b, c)
		if !errors.Is(err, ErrDuplicateAuditPath) {
			t.Fatalf("LoadFiles error = %v, want %v", err, ErrDuplicateAuditPath)
		}
		want := c + ":3:16: audit: audit path may be declared only once (first declared at " + a + ":1:14)"
		if err.Error() != want {
			t.Errorf("error = %q\nwant    %q", err, want)
		}
	})
}
