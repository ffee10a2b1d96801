package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBackup(t *testing.T) {
	cases := map[string]struct {
		src     string
		json    bool
		want    *Backup
		wantErr error
		errHas  string
	}{
		"none": {src: `ui = true`},
		"full": {
			src:  `backup "local" { path = "/var/backups/tresor"  interval = "1h"  retain = 3 }`,
			want: &Backup{Type: "local", Path: "/var/backups/tresor", Interval: time.Hour, Retain: 3},
		},
		"defaults": {
			src:  `backup "local" { path = "/b" }`,
			want: &Backup{Type: "local", Path: "/b", Interval: DefaultBackupInterval, Retain: DefaultBackupRetain},
		},
		"json": {
			src:  `{"backup": {"local": {"path": "/b", "interval": "30m", "retain": 2}}}`,
			json: true,
			want: &Backup{Type: "local", Path: "/b", Interval: 30 * time.Minute, Retain: 2},
		},
		"interval in seconds": {
			src:  `backup "local" { path = "/b"  interval = 90 }`,
			want: &Backup{Type: "local", Path: "/b", Interval: 90 * time.Second, Retain: DefaultBackupRetain},
		},
		"no path":        {src: `backup "local" { retain = 2 }`, wantErr: ErrInvalidValue, errHas: "path is required"},
		"other type":     {src: `backup "s3" { path = "/b" }`, wantErr: ErrInvalidValue, errHas: "not supported"},
		"zero retain":    {src: `backup "local" { path = "/b"  retain = 0 }`, wantErr: ErrInvalidValue},
		"bad interval":   {src: `backup "local" { path = "/b"  interval = "soon" }`, wantErr: ErrInvalidValue},
		"zero interval":  {src: `backup "local" { path = "/b"  interval = "0s" }`, wantErr: ErrInvalidValue},
		"unknown key":    {src: `backup "local" { path = "/b"  bucket = "x" }`, wantErr: ErrUnknownKey},
		"declared twice": {src: "backup \"local\" { path = \"/a\" }\nbackup \"local\" { path = \"/b\" }", wantErr: ErrDuplicateBackup},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := "server.hcl"
			if tc.json {
				file = "server.json"
			}
			cfg, err := Parse(file, []byte(tc.src))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Parse = %v, want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Backup
			if got != nil {
				got.at = ""
			}
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("Backup = %+v, want %+v", got, tc.want)
			}
		})
	}
}
