// Package audit records every request and response the server answers, the
// way Vault's audit devices do.
//
// A Broker fans each entry out to the enabled devices:
//
//	salt, err := audit.NewSalt()            // once, when the device is enabled; persist it
//	dev, err := audit.NewDevice("file", map[string]string{
//		"file_path": "/var/log/tresor/audit.log",
//	}, salt, dataDir)                         // refuses paths inside dataDir
//	b := audit.NewBroker(logger)
//	err = b.Enable(ctx, "file", dev)
//	...
//	if err := b.LogRequest(ctx, &audit.Input{Request: req, Auth: auth}); err != nil {
//		// no device recorded the request: answer 500, return no secret
//	}
//
// Each entry is one line of JSON in Vault's schema ("time", "type",
// "auth", "request", "response", "error"). Every string in request and
// response data, and every token, accessor, wrap token and lease ID, is
// replaced by "hmac-sha256:<hex>", an HMAC-SHA256 keyed with the device's
// salt, so the log never holds a secret in clear yet a known value can be
// found with Broker.Hash (sys/audit-hash). Numbers and booleans stay as
// they are. A mount's non-HMAC keys (Input.NonHMACRequestKeys and
// NonHMACResponseKeys) stay clear, and a device with log_raw=true hashes
// nothing.
//
// The broker fails closed: when devices are enabled and none of them
// records an entry, LogRequest and LogResponse return an error wrapping
// ErrNotRecorded, and the caller must not answer. One working device is
// enough; the failures of the others are logged (never the entry itself).
//
// Device types and their options:
//
//	file    file_path (a path, "stdout" or "discard"), mode (octal, default
//	        "0600"; "0000" leaves the mode alone), log_raw, hmac_accessor
//	        (default true), prefix, format ("json" or "jsonx"),
//	        rotate_max_bytes and rotate_max_files (a Tresor extension: once
//	        the file would exceed rotate_max_bytes it becomes file.1, file.1
//	        becomes file.2, ... and only rotate_max_files old files are kept,
//	        default 5)
//	socket  address, socket_type ("tcp", "udp" or "unix"; default tcp),
//	        write_timeout (default "2s"), plus log_raw, hmac_accessor,
//	        prefix, format
//	syslog  facility (default "AUTH"), tag (default "vault"), plus log_raw,
//	        hmac_accessor, prefix, format
//
// Broker.Reopen closes and reopens file devices, for log rotation by
// logrotate on SIGHUP.
package audit
