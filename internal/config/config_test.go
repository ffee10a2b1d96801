package config

import (
	"reflect"
	"testing"
	"time"
)

// defaults returns the configuration an empty file yields, to be adjusted
// by each case.
func defaults() *Config {
	return &Config{
		DefaultLeaseTTL: DefaultLeaseTTL,
		MaxLeaseTTL:     DefaultMaxLeaseTTL,
		LogLevel:        "info",
		LogFormat:       "text",
		Telemetry:       Telemetry{PrometheusRetentionTime: DefaultPrometheusRetentionTime},
	}
}

// tcp returns a listener with defaults applied, adjusted by set.
func tcp(set func(l *Listener)) Listener {
	l := Listener{Type: "tcp"}
	if set != nil {
		set(&l)
	}
	l.applyDefaults()
	return l
}

// withoutPositions clears the recorded positions so configurations compare
// on their settings alone.
func withoutPositions(c *Config) *Config {
	if c.Storage != nil {
		s := *c.Storage
		s.at = ""
		c.Storage = &s
	}
	for i := range c.Listeners {
		c.Listeners[i].at = ""
	}
	for i := range c.Audit {
		c.Audit[i].at = ""
	}
	return c
}

func TestParseGood(t *testing.T) {
	tests := map[string]struct {
		name string
		src  string
		want func(c *Config)
	}{
		"empty file": {
			name: "empty.hcl",
			src:  "  \n# nothing here\n",
			want: func(c *Config) {},
		},
		"dev style file storage and plain tcp": {
			name: "config.hcl",
			src: `
storage "file" {
  path = "/var/lib/tresor"
}

listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = 1
}

disable_mlock = true
disable_performance_standby = "true"
`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "file", Config: map[string]string{"path": "/var/lib/tresor"}, Path: "/var/lib/tresor"}
				c.Listeners = []Listener{tcp(func(l *Listener) { l.TLSDisable = true })}
				c.DisableMlock = true
				c.DisableStandbyReads = true
			},
		},
		"production TLS listener": {
			name: "prod.hcl",
			src: `
ui            = true
api_addr      = "https://tresor.example.com:8200"
cluster_addr  = "https://10.0.0.5:8201"
cluster_name  = "prod"
pid_file      = "/run/tresor.pid"
log_level     = "Warning"
log_format    = "json"
default_lease_ttl = "1h30m"
max_lease_ttl     = "30d"

storage "bolt" {
  path = "/data/tresor.db"
}

listener "tcp" {
  address                            = "0.0.0.0:8200"
  cluster_address                    = "0.0.0.0:8201"
  tls_cert_file                      = "/etc/tresor/tls.crt"
  tls_key_file                       = "/etc/tresor/tls.key"
  tls_client_ca_file                 = "/etc/tresor/ca.crt"
  tls_min_version                    = "TLS13"
  tls_require_and_verify_client_cert = "true"
  max_request_size                   = -1
}
`,
			want: func(c *Config) {
				c.UI = true
				c.APIAddr = "https://tresor.example.com:8200"
				c.ClusterAddr = "https://10.0.0.5:8201"
				c.ClusterName = "prod"
				c.PidFile = "/run/tresor.pid"
				c.LogLevel = "warn"
				c.LogFormat = "json"
				c.DefaultLeaseTTL = 90 * time.Minute
				c.MaxLeaseTTL = 30 * 24 * time.Hour
				c.Storage = &Storage{Type: "bolt", Config: map[string]string{"path": "/data/tresor.db"}, Path: "/data/tresor.db"}
				c.Listeners = []Listener{tcp(func(l *Listener) {
					l.Address = "0.0.0.0:8200"
					l.ClusterAddress = "0.0.0.0:8201"
					l.TLSCertFile = "/etc/tresor/tls.crt"
					l.TLSKeyFile = "/etc/tresor/tls.key"
					l.TLSClientCAFile = "/etc/tresor/ca.crt"
					l.TLSMinVersion = "tls13"
					l.TLSRequireAndVerifyClientCert = true
					l.MaxRequestSize = -1
				})}
			},
		},
		"JSON with listener list": {
			name: "config.json",
			src: `{
  "storage": {"file": {"path": "/tmp/tresor"}},
  "listener": [
    {"tcp": {"address": "127.0.0.1:8200", "tls_disable": "true"}},
    {"tcp": {"address": "10.0.0.1:8200", "tls_disable": true, "max_request_size": 1024}}
  ],
  "default_lease_ttl": 3600,
  "max_lease_ttl": "7200",
  "ui": 0
}`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "file", Config: map[string]string{"path": "/tmp/tresor"}, Path: "/tmp/tresor"}
				c.Listeners = []Listener{
					tcp(func(l *Listener) { l.TLSDisable = true }),
					tcp(func(l *Listener) { l.Address = "10.0.0.1:8200"; l.TLSDisable = true; l.MaxRequestSize = 1024 }),
				}
				c.DefaultLeaseTTL = time.Hour
				c.MaxLeaseTTL = 2 * time.Hour
			},
		},
		"JSON detected from content": {
			name: "stdin",
			src:  ` {"listener": {"tcp": {"tls_disable": "1"}}}`,
			want: func(c *Config) {
				c.Listeners = []Listener{tcp(func(l *Listener) { l.TLSDisable = true })}
			},
		},
		"legacy backend block": {
			name: "old.hcl",
			src: `
backend "file" {
  path = "/vault/file"
}
listener "tcp" { tls_disable = "false" }
`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "file", Config: map[string]string{"path": "/vault/file"}, Path: "/vault/file"}
				c.Listeners = []Listener{tcp(nil)}
			},
		},
		"postgresql storage keeps every attribute": {
			name: "pg.hcl",
			src: `
storage "postgresql" {
  connection_url = "postgres://tresor:s3cret@db:5432/tresor?sslmode=verify-full"
  table          = "tresor_kv_store"
  max_parallel   = 16
  ha_enabled     = true
}
`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "postgresql", Config: map[string]string{
					"connection_url": "postgres://tresor:s3cret@db:5432/tresor?sslmode=verify-full",
					"table":          "tresor_kv_store",
					"max_parallel":   "16",
					"ha_enabled":     "true",
				}}
			},
		},
		"raft retry_join blocks are JSON-encoded": {
			name: "raft.hcl",
			src: `
storage "raft" {
  path    = "/raft"
  retry_join {
    leader_api_addr = "https://a:8200"
  }
  retry_join {
    leader_api_addr = "https://b:8200"
  }
}
`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "raft", Path: "/raft", Config: map[string]string{
					"path":       "/raft",
					"retry_join": `[{"leader_api_addr":"https://a:8200"},{"leader_api_addr":"https://b:8200"}]`,
				}}
			},
		},
		"inmem storage without body": {
			name: "mem.hcl",
			src:  `storage "inmem" {}`,
			want: func(c *Config) {
				c.Storage = &Storage{Type: "inmem", Config: map[string]string{}}
			},
		},
		"unsupported settings become warnings": {
			name: "w.hcl",
			src: `
telemetry {
  statsite_address = "127.0.0.1:8125"
}
hsm "pkcs11" {
  lib = "/usr/lib/softhsm.so"
}
plugin_directory = "/plugins"
listener "tcp" {
  tls_disable             = true
  x_forwarded_for_hop_skips = 1
}
`,
			want: func(c *Config) {
				c.Listeners = []Listener{tcp(func(l *Listener) { l.TLSDisable = true })}
				c.Warnings = []string{
					`w.hcl:3:3: telemetry: "statsite_address" is not supported yet and is ignored`,
					`w.hcl:5:1: "hsm" is not supported yet and is ignored`,
					`w.hcl:8:1: "plugin_directory" is not supported yet and is ignored`,
					`w.hcl:11:3: listener "tcp": "x_forwarded_for_hop_skips" is not supported yet and is ignored`,
				}
			},
		},
		"repeated attribute warns and last wins": {
			name: "dup.hcl",
			src:  "ui = true\nui = false\n",
			want: func(c *Config) {
				c.Warnings = []string{`dup.hcl:2:1: "ui" is set more than once; the last value wins`}
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tt.name, []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := defaults()
			tt.want(want)
			if got := withoutPositions(got); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
				if got.Storage != nil && want.Storage != nil {
					t.Errorf("storage:\n got %+v\nwant %+v", *got.Storage, *want.Storage)
				}
			}
		})
	}
}

func TestListenerTLSVersions(t *testing.T) {
	c, err := Parse("t.hcl", []byte(`listener "tcp" { tls_min_version = "tls11" }`))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := c.Listeners[0].TLSVersions()
	if lo != 0x0302 || hi != 0x0304 {
		t.Errorf("TLSVersions() = %#x, %#x, want 0x302, 0x304", lo, hi)
	}
}

func BenchmarkParse(b *testing.B) {
	for name, src := range map[string]string{
		"hcl": `
storage "postgresql" {
  connection_url = "postgres://tresor@db/tresor"
  table          = "kv"
}
listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/tresor/tls.crt"
  tls_key_file  = "/etc/tresor/tls.key"
}
api_addr          = "https://tresor.example.com:8200"
default_lease_ttl = "1h"
ui                = true
`,
		"json": `{"storage": {"postgresql": {"connection_url": "postgres://tresor@db/tresor", "table": "kv"}},
"listener": [{"tcp": {"address": "0.0.0.0:8200", "tls_cert_file": "/c", "tls_key_file": "/k"}}],
"api_addr": "https://tresor.example.com:8200", "default_lease_ttl": "1h", "ui": true}`,
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse("bench."+name, []byte(src)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
