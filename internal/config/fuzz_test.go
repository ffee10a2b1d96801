package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse or Validate panic, and that a
// successful parse yields a self-consistent configuration.
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
		}
	})
}
