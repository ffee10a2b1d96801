// Package config reads the server configuration file, in the format Vault
// uses: HCL or JSON with storage, listener and a handful of top-level
// settings.
//
// A typical file:
//
//	storage "file" {
//	  path = "/var/lib/tresor"
//	}
//
//	listener "tcp" {
//	  address       = "0.0.0.0:8200"
//	  tls_cert_file = "/etc/tresor/tls.crt"
//	  tls_key_file  = "/etc/tresor/tls.key"
//	}
//
//	telemetry {
//	  prometheus_retention_time = "24h" // "0" turns Prometheus metrics off
//	  disable_hostname          = true
//	}
//
//	api_addr          = "https://tresor.example.com:8200"
//	default_lease_ttl = "1h"
//	ui                = true
//
// A listener may open sys/metrics to clients without a token, as in Vault:
//
//	listener "tcp" {
//	  telemetry {
//	    unauthenticated_metrics_access = true
//	  }
//	}
//
// Audit devices may be declared in the file, in OpenBao's format, for the
// server to enable at startup. The labels are the device type and its path
// ("/" is appended when missing); options is the string map sys/audit
// takes, numbers and booleans read as their text:
//
//	audit "file" "to-stdout" {
//	  description = "Never fails."
//	  local       = false
//	  options {
//	    file_path = "/dev/stdout"
//	    log_raw   = "true"
//	  }
//	}
//
// In JSON the same is {"audit": [{"file": {"to-stdout": {...}}}]}, or
// without the list. Devices are kept in the order written.
//
// A seal stanza makes the server unseal itself; its attributes are kept as
// strings for the seal to read. A second stanza with disabled = "true"
// names the seal a migration moves away from:
//
//	seal "static" {
//	  current_key_id = "2026-11"
//	  current_key    = "file:///etc/tresor/unseal.key"
//	}
//
// Load it, then check it is complete enough to start a server:
//
//	cfg, err := config.LoadFiles(paths...) // one per -config flag
//	if err != nil { ... }                  // "config.hcl:7:3: unknown key \"listner\""
//	if err := cfg.Validate(devMode); err != nil { ... }
//	for _, w := range cfg.Warnings { log.Print(w) }
//
// Several files (or a directory, meaning every *.hcl and *.json file in it in
// name order) are merged as Vault merges them: a setting in a later file
// overrides an earlier one, listeners and audit devices accumulate, and
// storage, like an audit path, may be declared only once across all files.
// The legacy block name backend is accepted for storage.
//
// Values are read as leniently as Vault reads them: booleans may be written
// true, "true", 1 or "1"; durations as "1h30m", "30d", or a number of seconds
// (bare or quoted). Everything else is strict. An unknown key is an error
// that names the file, line and column, so a typo never silently falls back
// to a default. Keys that Vault knows but Tresor does not implement yet
// (ha_storage, plugin_directory, the metrics sinks of telemetry such as
// statsd_address, ...) are accepted and each adds an entry to
// Config.Warnings instead. Telemetry, like storage, is a block a file may
// declare once; a later file's telemetry block replaces an earlier one's.
//
// Error messages name keys and positions, never values, so a configuration
// holding credentials (a PostgreSQL connection_url, say) can be reported
// safely.
package config
