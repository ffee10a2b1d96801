package config

// Settings that are valid in Vault's server configuration but not
// implemented by Tresor yet. They are accepted with a warning so that an
// existing Vault configuration loads; a key outside these lists and the
// implemented ones is an error.

// unsupportedTopLevel lists top-level keys and stanzas, from Vault's
// server configuration reference (community and enterprise).
var unsupportedTopLevel = set(
	// stanzas
	"ha_storage", "ha_backend", "hsm", "kms", "entropy",
	"user_lockout", "service_registration", "cloud", "observations",
	"reporting", "replication", "sentinel", "request_limiter",
	// settings
	"administrative_namespace_path", "allow_audit_log_prefixing", "cache_size",
	"cluster_cipher_suites", "default_max_request_duration", "detect_deadlocks",
	"disable_cache", "disable_indexing",
	"disable_printable_check", "disable_sealwrap",
	"disable_sentinel_trace", "enable_multiseal", "enable_post_unseal_trace",
	"enable_response_header_hostname", "enable_response_header_raft_node_id",
	"experiments", "imprecise_lease_role_tracking", "introspection_endpoint",
	"license_path", "log_file", "log_requests_level", "log_rotate_bytes",
	"log_rotate_duration", "log_rotate_max_files", "plugin_directory",
	"plugin_file_permissions", "plugin_file_uid", "plugin_tmpdir",
	"post_unseal_trace_directory", "raw_storage_endpoint",
	"remove_irrevocable_lease_after", "reporting_scan_directory",
)

// unsupportedListener lists keys of Vault's tcp listener stanza.
var unsupportedListener = set(
	"agent_api", "chroot_namespace", "cors_allowed_headers",
	"cors_allowed_origins", "cors_enabled",
	"disable_replication_status_endpoints", "disable_request_limiter",
	"http_idle_timeout", "http_read_header_timeout", "http_read_timeout",
	"http_write_timeout", "inflight_requests_logging", "max_json_array_element_count",
	"max_json_depth", "max_json_object_entry_count", "max_json_string_value_length",
	"max_json_token", "max_request_duration", "profiling", "proxy_api",
	"proxy_protocol_authorized_addrs", "proxy_protocol_behavior", "purpose",
	"redact_addresses", "redact_cluster_name", "redact_version",
	"require_request_header", "role", "tls_cipher_suites",
	"tls_prefer_server_cipher_suites", "x_forwarded_for_authorized_addrs",
	"x_forwarded_for_client_cert_header", "x_forwarded_for_client_cert_header_decoders",
	"x_forwarded_for_hop_skips", "x_forwarded_for_reject_not_authorized",
	"x_forwarded_for_reject_not_present",
)

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
