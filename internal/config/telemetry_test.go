package config

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTelemetryGood(t *testing.T) {
	tests := map[string]struct {
		name          string
		src           string
		want          Telemetry
		wantListeners []bool // UnauthenticatedMetricsAccess of each listener
		wantWarnings  []string
	}{
		"no stanza keeps Vault's defaults": {
			name: "t.hcl", src: `ui = true`,
			want: Telemetry{PrometheusRetentionTime: 24 * time.Hour},
		},
		"empty stanza keeps Vault's defaults": {
			name: "t.hcl", src: `telemetry {}`,
			want: Telemetry{PrometheusRetentionTime: 24 * time.Hour},
		},
		"prometheus settings": {
			name: "t.hcl",
			src:  "telemetry {\n  prometheus_retention_time = \"30s\"\n  disable_hostname = true\n}\n",
			want: Telemetry{PrometheusRetentionTime: 30 * time.Second, DisableHostname: true},
		},
		"explicit zero retention disables prometheus and is kept": {
			name: "t.hcl", src: "telemetry {\n  prometheus_retention_time = 0\n}\n",
			want: Telemetry{},
		},
		"lenient values": {
			name: "t.hcl", src: "telemetry {\n  prometheus_retention_time = \"2d\"\n  disable_hostname = \"1\"\n}\n",
			want: Telemetry{PrometheusRetentionTime: 48 * time.Hour, DisableHostname: true},
		},
		"JSON object": {
			name: "t.json", src: `{"telemetry": {"prometheus_retention_time": "1h", "disable_hostname": true}}`,
			want: Telemetry{PrometheusRetentionTime: time.Hour, DisableHostname: true},
		},
		"JSON list of one object": {
			name: "t.json", src: `{"telemetry": [{"prometheus_retention_time": 60}]}`,
			want: Telemetry{PrometheusRetentionTime: time.Minute},
		},
		"other Vault keys warn one each": {
			name: "w.hcl",
			src: `telemetry {
  statsd_address            = "statsd:8125"
  usage_gauge_period        = "10m"
  prefix_filter             = ["+vault.token", "-vault.expire"]
  dogstatsd_tags            = ["env:prod"]
  circonus_api_token        = "tok"
  stackdriver_project_id    = "p"
  add_mount_point_rollback_metrics = true
  disable_hostname          = true
}
`,
			want: Telemetry{PrometheusRetentionTime: 24 * time.Hour, DisableHostname: true},
			wantWarnings: []string{
				`w.hcl:2:3: telemetry: "statsd_address" is not supported yet and is ignored`,
				`w.hcl:3:3: telemetry: "usage_gauge_period" is not supported yet and is ignored`,
				`w.hcl:4:3: telemetry: "prefix_filter" is not supported yet and is ignored`,
				`w.hcl:5:3: telemetry: "dogstatsd_tags" is not supported yet and is ignored`,
				`w.hcl:6:3: telemetry: "circonus_api_token" is not supported yet and is ignored`,
				`w.hcl:7:3: telemetry: "stackdriver_project_id" is not supported yet and is ignored`,
				`w.hcl:8:3: telemetry: "add_mount_point_rollback_metrics" is not supported yet and is ignored`,
			},
		},
		"repeated key warns and last wins": {
			name: "d.hcl", src: "telemetry {\n  disable_hostname = true\n  disable_hostname = false\n}\n",
			want:         Telemetry{PrometheusRetentionTime: 24 * time.Hour},
			wantWarnings: []string{`d.hcl:3:3: "disable_hostname" is set more than once; the last value wins`},
		},
		"listener telemetry block": {
			name: "l.hcl",
			src: `
listener "tcp" {
  tls_disable = true
  telemetry {
    unauthenticated_metrics_access = true
  }
}
listener "tcp" {
  address     = "127.0.0.1:8300"
  tls_disable = true
}
`,
			want:          Telemetry{PrometheusRetentionTime: 24 * time.Hour},
			wantListeners: []bool{true, false},
		},
		"listener telemetry in JSON": {
			name: "l.json",
			src: `{"listener": [
  {"tcp": {"tls_disable": true, "telemetry": {"unauthenticated_metrics_access": "true"}}},
  {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true, "telemetry": [{"unauthenticated_metrics_access": false}]}}
]}`,
			want:          Telemetry{PrometheusRetentionTime: 24 * time.Hour},
			wantListeners: []bool{true, false},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(tt.name, []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Telemetry != tt.want {
				t.Errorf("Telemetry = %+v, want %+v", c.Telemetry, tt.want)
			}
			var got []bool
			for _, l := range c.Listeners {
				got = append(got, l.UnauthenticatedMetricsAccess)
			}
			if !slices.Equal(got, tt.wantListeners) {
				t.Errorf("UnauthenticatedMetricsAccess = %v, want %v", got, tt.wantListeners)
			}
			if !slices.Equal(c.Warnings, tt.wantWarnings) {
				t.Errorf("Warnings:\n got %q\nwant %q", c.Warnings, tt.wantWarnings)
			}
		})
	}
}

func TestTelemetryBad(t *testing.T) {
	tests := map[string]struct {
		name    string
		src     string
		wantErr error
		want    string // the message starts with this
	}{
		"bad retention": {
			name: "t.hcl", src: "telemetry {\n  prometheus_retention_time = \"a day\"\n}\n",
			wantErr: ErrInvalidValue, want: "t.hcl:2:3: prometheus_retention_time: invalid value: want a duration",
		},
		"negative retention": {
			name: "t.hcl", src: "telemetry {\n  prometheus_retention_time = \"-1h\"\n}\n",
			wantErr: ErrInvalidValue, want: "t.hcl:2:3: prometheus_retention_time: invalid value: must not be negative",
		},
		"bad disable_hostname": {
			name: "t.json", src: "{\n  \"telemetry\": {\n    \"disable_hostname\": \"maybe\"\n  }\n}",
			wantErr: ErrInvalidValue, want: "t.json:3:5: disable_hostname: invalid value: want a boolean",
		},
		"unknown key in telemetry": {
			name: "t.hcl", src: "telemetry {\n  disable_hostname = true\n  statsd_adress = \"x\"\n}\n",
			wantErr: ErrUnknownKey, want: `t.hcl:3:3: unknown key "statsd_adress" in telemetry`,
		},
		"unknown key in JSON telemetry": {
			name: "t.json", src: "{\"telemetry\": {\n  \"prometheus\": {}\n}}",
			wantErr: ErrUnknownKey, want: `t.json:2:3: unknown key "prometheus" in telemetry`,
		},
		"telemetry as a value": {
			name: "t.hcl", src: "telemetry = true\n",
			wantErr: ErrInvalidValue, want: "t.hcl:1:1: telemetry: invalid value: want a block",
		},
		"telemetry with a label": {
			name: "t.hcl", src: "ui = 1\ntelemetry \"prometheus\" {\n}\n",
			wantErr: ErrInvalidValue, want: "t.hcl:2:1: telemetry: invalid value: want a block without a label",
		},
		"two telemetry blocks in one file": {
			name: "t.hcl", src: "telemetry {}\ntelemetry {}\n",
			wantErr: ErrInvalidValue, want: "t.hcl:2:1: telemetry: invalid value: only one telemetry block is permitted",
		},
		"JSON list of two telemetry blocks": {
			name: "t.json", src: `{"telemetry": [{}, {}]}`,
			wantErr: ErrInvalidValue, want: "t.json:1:2: telemetry: invalid value: only one telemetry block",
		},
		"bad unauthenticated_metrics_access": {
			name: "l.hcl", src: "listener \"tcp\" {\n  telemetry {\n    unauthenticated_metrics_access = \"sure\"\n  }\n}\n",
			wantErr: ErrInvalidValue, want: "l.hcl:3:5: unauthenticated_metrics_access: invalid value: want a boolean",
		},
		"unknown key in listener telemetry": {
			name: "l.hcl", src: "listener \"tcp\" {\n  telemetry {\n    prometheus_retention_time = \"1h\"\n  }\n}\n",
			wantErr: ErrUnknownKey, want: `l.hcl:3:5: unknown key "prometheus_retention_time" in listener telemetry`,
		},
		"unknown key in JSON listener telemetry": {
			name: "l.json", src: "{\"listener\": {\"tcp\": {\"telemetry\": {\n  \"x\": {}\n}}}}",
			wantErr: ErrUnknownKey, want: `l.json:2:3: unknown key "x" in listener telemetry`,
		},
		"flat unauthenticated_metrics_access is not Vault's syntax": {
			name: "l.hcl", src: "listener \"tcp\" {\n  unauthenticated_metrics_access = true\n}\n",
			wantErr: ErrUnknownKey, want: `l.hcl:2:3: unknown key "unauthenticated_metrics_access" in listener`,
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

// TestTelemetryMerge checks Vault's merge: a later file's stanza replaces
// the earlier one as a whole, and a file without one leaves it alone.
func TestTelemetryMerge(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"1.hcl": "telemetry {\n  prometheus_retention_time = 0\n  disable_hostname = true\n}\n",
		"2.hcl": "ui = true\n",
		"3.hcl": "telemetry {\n  disable_hostname = false\n}\n",
	})
	tests := map[string]struct {
		files []string
		want  Telemetry
	}{
		"first alone":            {[]string{"1.hcl"}, Telemetry{DisableHostname: true}},
		"file without stanza":    {[]string{"1.hcl", "2.hcl"}, Telemetry{DisableHostname: true}},
		"later stanza replaces":  {[]string{"1.hcl", "2.hcl", "3.hcl"}, Telemetry{PrometheusRetentionTime: DefaultPrometheusRetentionTime}},
		"one per file, not once": {[]string{"3.hcl", "1.hcl"}, Telemetry{DisableHostname: true}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, filepath.Join(dir, f))
			}
			c, err := LoadFiles(paths...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Telemetry != tt.want {
				t.Errorf("Telemetry = %+v, want %+v", c.Telemetry, tt.want)
			}
		})
	}
}
