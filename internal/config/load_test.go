package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (name → content) in a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadFilesMerges(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.hcl": `
storage "file" { path = "/data" }
listener "tcp" { tls_disable = true }
ui                = true
log_level         = "debug"
default_lease_ttl = "1h"
`,
		"override.json": `{
  "listener": {"tcp": {"address": "0.0.0.0:8300", "tls_disable": 1}},
  "ui": false,
  "default_lease_ttl": "2h",
  "telemetry": {"disable_hostname": true}
}`,
	})
	c, err := LoadFiles(filepath.Join(dir, "base.hcl"), filepath.Join(dir, "override.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Storage = &Storage{Type: "file", Config: map[string]string{"path": "/data"}, Path: "/data"}
	want.Listeners = []Listener{
		tcp(func(l *Listener) { l.TLSDisable = true }),
		tcp(func(l *Listener) { l.Address = "0.0.0.0:8300"; l.TLSDisable = true }),
	}
	want.UI = false
	want.LogLevel = "debug"
	want.DefaultLeaseTTL = 2 * time.Hour
	want.Telemetry.DisableHostname = true
	if got := withoutPositions(c); !reflect.DeepEqual(got, want) {
		t.Errorf("LoadFiles:\n got %+v\nwant %+v", got, want)
	}
	if err := c.Validate(false); err != nil {
		t.Errorf("Validate(false) = %v", err)
	}
}

func TestLoadFilesDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"20-listener.hcl":    `listener "tcp" { address = "127.0.0.1:9000" tls_disable = 1 }`,
		"10-storage.json":    `{"storage": {"inmem": {}}, "log_level": "error"}`,
		"30-level.hcl":       `log_level = "trace"`,
		"notes.txt":          `this is not configuration`,
		".10-storage.hcl.sw": `garbage`,
		".hidden.hcl":        `garbage`,
	})
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage == nil || c.Storage.Type != "inmem" {
		t.Errorf("Storage = %+v, want inmem", c.Storage)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].Address != "127.0.0.1:9000" {
		t.Errorf("Listeners = %+v", c.Listeners)
	}
	if c.LogLevel != "trace" { // 30-level.hcl sorts last and wins
		t.Errorf("LogLevel = %q, want trace", c.LogLevel)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.hcl":   `storage "file" { path = "/a" }`,
		"b.hcl":   "\n\nstorage \"bolt\" { path = \"/b\" }",
		"bad.hcl": "listener \"tcp\" {\n  tls_disable = \"maybe\"\n}",
	})
	tests := map[string]struct {
		paths   []string
		wantErr error
		want    string
	}{
		"storage in two files": {
			paths:   []string{filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl")},
			wantErr: ErrDuplicateStorage,
			want:    filepath.Join(dir, "b.hcl") + ":3:1: storage: storage may be declared only once (first declared at " + filepath.Join(dir, "a.hcl") + ":1:1)",
		},
		"error names the file": {
			paths:   []string{filepath.Join(dir, "a.hcl"), filepath.Join(dir, "bad.hcl")},
			wantErr: ErrInvalidValue,
			want:    filepath.Join(dir, "bad.hcl") + ":2:3: tls_disable",
		},
		"missing file": {
			paths:   []string{filepath.Join(dir, "nope.hcl")},
			wantErr: fs.ErrNotExist,
			want:    "config: ",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFiles(tt.paths...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadFiles error = %v, want %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestLoadFilesNone(t *testing.T) {
	c, err := LoadFiles()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, defaults()) {
		t.Errorf("LoadFiles() = %+v, want defaults", c)
	}
}
