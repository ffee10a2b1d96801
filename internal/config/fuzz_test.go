package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse or Validate panic, and that a
// successful parse yields a self-consistent configuration: whatever Parse
// accepts is within the domain every setting documents (TLS versions known
// and min <= max, TTLs positive, log level and format known), parsing the
// same input again gives the same configuration, and the declared audit
// devices and listeners carry their defaults.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"storage \"file\" { path = \"/d\" }\nlistener \"tcp\" { tls_disable = 1 }",
		`{"listener": [{"tcp": {"address": "x", "tls_disable": "true"}}], "ui": 1}`,
		"storage \"raft\" {\n retry_join { leader_api_addr = \"a\" }\n node_id = 1.5\n}",
		"x = <<EOF\nhello\nEOF\n",
		"ui = 0x10\nmax_lease_ttl = 1e3",
		"listener \"tcp\" \"x\" \"y\" { a = [1, [2, {b = 3}]] }",
		`{"storage": {"file": {"path": null}}, "listener": {"tcp": {"telemetry": {"x": {}}}}}`,
		"default_lease_ttl = \"\\u00ff\"",
		"telemetry {\n prometheus_retention_time = \"0\"\n prefix_filter = [\"+vault\"]\n}\nlistener \"tcp\" { telemetry { unauthenticated_metrics_access = 1 } }",
		`{"telemetry": [{"disable_hostname": "1"}], "listener": {"tcp": {"telemetry": [{}]}}}`,
		"audit \"file\" \"to-stdout\" {\n description = \"d\"\n local = 1\n options {\n  file_path = \"/dev/stdout\"\n  n = 0x1f\n }\n}\naudit \"file\" { x {} y \"z\" {} }",
		`{"audit": [{"file": {"p": {"options": {"log_raw": true, "f": 1.5e2}}}}, {"socket": {"p/": {}}}]}`,
		"listener \"tcp\" {\n tls_min_version = \"tls13\"\n tls_max_version = \"tls12\"\n}",
		"listener \"tcp\" {\n tls_min_version = \"TLS11\"\n tls_max_version = \"tls11\"\n}\ndefault_lease_ttl = \"2d\"\nmax_lease_ttl = -1",
		"log_level = \"WARNING\"\nlog_format = \"standard\"\ndefault_lease_ttl = 0\nmax_lease_ttl = \"1h30m\"",
	}
	for _, s := range seeds {
		f.Add("config.hcl", []byte(s))
		f.Add("config.json", []byte(s))
	}
	f.Fuzz(func(t *testing.T, name string, src []byte) {
		c, err := Parse(name, src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Errorf("error %q does not start with the file name %q", err, name)
			}
			return
		}
		_ = c.Validate(false)
		_ = c.Validate(true)
		if c.Telemetry.PrometheusRetentionTime < 0 {
			t.Errorf("negative prometheus_retention_time: %v", c.Telemetry.PrometheusRetentionTime)
		}
		paths := make(map[string]bool)
		for _, a := range c.Audit {
			if a.Type == "" || !strings.HasSuffix(a.Path, "/") || a.Path == "/" || paths[a.Path] || a.Options == nil {
				t.Errorf("inconsistent audit device: %+v", a)
			}
			paths[a.Path] = true
		}
		for _, l := range c.Listeners {
			if l.Type != "tcp" || l.Address == "" || l.MaxRequestSize == 0 {
				t.Errorf("listener without defaults: %+v", l)
			}
			lo, hi := l.TLSVersions()
			if lo == 0 || hi == 0 || lo > hi {
				t.Errorf("listener TLS versions %q..%q accepted", l.TLSMinVersion, l.TLSMaxVersion)
			}
		}
		if c.DefaultLeaseTTL <= 0 || c.MaxLeaseTTL <= 0 {
			t.Errorf("lease TTLs %v/%v accepted", c.DefaultLeaseTTL, c.MaxLeaseTTL)
		}
		if !slices.Contains([]string{"trace", "debug", "info", "warn", "error"}, c.LogLevel) || !slices.Contains([]string{"text", "json"}, c.LogFormat) {
			t.Errorf("log level %q, format %q accepted", c.LogLevel, c.LogFormat)
		}
		again, err := Parse(name, src)
		if err != nil {
			t.Fatalf("the second parse of the same input fails: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Errorf("two parses of the same input differ:\n%+v\n%+v", c, again)
		}
	})
}
