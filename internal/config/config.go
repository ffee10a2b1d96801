package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// Defaults applied to settings a configuration leaves unset.
const (
	DefaultAddress        = "127.0.0.1:8200"
	DefaultTLSMinVersion  = "tls12"
	DefaultTLSMaxVersion  = "tls13"
	DefaultMaxRequestSize = 32 << 20 // bytes, Vault's 32 MiB
	DefaultLeaseTTL       = 768 * time.Hour
	DefaultMaxLeaseTTL    = 768 * time.Hour
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "text"
)

// Config is a server configuration, the result of one or more merged files.
type Config struct {
	// Storage is the storage backend; nil when no file declares one.
	Storage *Storage
	// Listeners are the API listeners, in file order.
	Listeners []Listener

	// APIAddr is the address advertised to clients for redirection.
	APIAddr string
	// ClusterAddr is the address advertised to other cluster members.
	ClusterAddr string
	// DisableClustering turns request forwarding off (Vault's
	// disable_clustering, top level or in the storage stanza): an HA
	// standby answers 307 to the active node's api_addr instead of
	// forwarding, and this node, when active, advertises no cluster
	// address, so the others redirect to it too. Not allowed with raft
	// storage, whose traffic runs over the cluster port.
	DisableClustering bool
	// DisableStandbyReads (Vault Enterprise's disable_performance_standby)
	// makes a Raft standby forward KV reads too instead of answering
	// them from its own copy of the data.
	DisableStandbyReads bool

	DisableMlock bool

	// Audit are the declarative audit devices, in file order; files
	// append to the list and no two may share a path.
	Audit []AuditDevice
	// Seals are the seal stanzas (see Seal); none means Shamir's.
	Seals []Seal

	// Backup is the backup "local" stanza, nil when there is none.
	Backup *Backup

	// Telemetry is the telemetry stanza, or its defaults when there is none.
	Telemetry Telemetry

	// DefaultLeaseTTL and MaxLeaseTTL are the system-wide lease limits.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration

	// LogLevel is one of trace, debug, info, warn or error (lower case;
	// "warning" is read as warn).
	LogLevel string
	// LogFormat is "text" (Vault's "standard") or "json".
	LogFormat string

	UI          bool
	ClusterName string
	PidFile     string

	// Warnings lists accepted settings that have no effect, one line each,
	// prefixed by file:line:col, in file order.
	Warnings []string
}

// Storage is the storage stanza: storage "TYPE" { ... }.
type Storage struct {
	// Type is the block label: "file", "bolt", "inmem", "raft",
	// "postgresql", ... The server decides which types it offers.
	Type string
	// Config holds every attribute of the block. Strings are kept as
	// written; other values (numbers, booleans, lists, nested blocks such
	// as raft's retry_join) are JSON-encoded, as Vault does.
	Config map[string]string
	// Path is Config["path"], the data directory of file-like backends.
	Path string

	at string // file:line:col of the block, for Validate's messages
}

// Listener is one listener "tcp" { ... } stanza.
type Listener struct {
	Type           string // always "tcp"
	Address        string // host:port to bind; DefaultAddress when unset
	ClusterAddress string // host:port for cluster traffic; empty means address port + 1

	TLSDisable                    bool
	TLSCertFile                   string
	TLSKeyFile                    string
	TLSClientCAFile               string
	TLSMinVersion                 string // tls10, tls11, tls12 or tls13
	TLSMaxVersion                 string // same set, never below TLSMinVersion
	TLSRequireAndVerifyClientCert bool
	TLSDisableClientCerts         bool

	// MaxRequestSize is the body limit in bytes. Zero in the file means
	// DefaultMaxRequestSize; a negative value means no limit, as in Vault.
	MaxRequestSize int64

	// UnauthenticatedMetricsAccess, set by telemetry {
	// unauthenticated_metrics_access = true } inside the listener block,
	// lets clients of this listener read sys/metrics without a token.
	UnauthenticatedMetricsAccess bool

	// UnauthedRekey and UnauthedGenerateRoot are set by
	// disable_unauthed_rekey_endpoints = false and
	// disable_unauthed_generate_root_endpoints = false: the rekey and
	// generate-root endpoints then answer callers without a token, as
	// Vault's did before CVE-2024-8185. Both are off by default.
	UnauthedRekey        bool
	UnauthedGenerateRoot bool

	// CustomResponseHeaders are extra response headers by status: keys
	// "default", a class ("2xx") or a code ("404"); values map a header
	// name to its value (a list in the file, joined with "; ").
	CustomResponseHeaders map[string]map[string]string

	at string // file:line:col of the block, for Validate's messages
}

// tlsVersions maps the configuration's names to crypto/tls versions.
var tlsVersions = map[string]uint16{
	"tls10": tls.VersionTLS10,
	"tls11": tls.VersionTLS11,
	"tls12": tls.VersionTLS12,
	"tls13": tls.VersionTLS13,
}

// TLSVersions returns TLSMinVersion and TLSMaxVersion as crypto/tls
// constants, ready for tls.Config. An unknown name yields 0, which
// crypto/tls reads as its own default.
func (l Listener) TLSVersions() (minVersion, maxVersion uint16) {
	return tlsVersions[l.TLSMinVersion], tlsVersions[l.TLSMaxVersion]
}

// newConfig returns the configuration files are applied to. Telemetry's
// default is set up front rather than in applyDefaults because an explicit
// prometheus_retention_time = 0 means "disabled", not "unset".
func newConfig() *Config {
	return &Config{Telemetry: defaultTelemetry()}
}

// applyDefaults fills the settings a configuration left unset. Zero TTLs
// mean "the system default", as in Vault.
func (c *Config) applyDefaults() {
	if c.DefaultLeaseTTL == 0 {
		c.DefaultLeaseTTL = DefaultLeaseTTL
	}
	if c.MaxLeaseTTL == 0 {
		c.MaxLeaseTTL = DefaultMaxLeaseTTL
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
}

// applyDefaults fills the listener settings a block left unset.
func (l *Listener) applyDefaults() {
	if l.Address == "" {
		l.Address = DefaultAddress
	}
	if l.TLSMinVersion == "" {
		l.TLSMinVersion = DefaultTLSMinVersion
	}
	if l.TLSMaxVersion == "" {
		l.TLSMaxVersion = DefaultTLSMaxVersion
	}
	if l.MaxRequestSize == 0 {
		l.MaxRequestSize = DefaultMaxRequestSize
	}
}

// Validate reports whether c is complete enough to start a server. In dev
// mode the server supplies its own in-memory storage and listener, so their
// absence is fine; whatever the files do declare is checked either way. All
// problems are reported, joined.
func (c *Config) Validate(dev bool) error {
	var errs []error
	if c.Storage == nil {
		if !dev {
			errs = append(errs, fmt.Errorf(`%w: storage (a storage "TYPE" { ... } block)`, ErrRequired))
		}
	} else if s := c.Storage; (s.Type == "file" || s.Type == "bolt") && s.Config["path"] == "" {
		errs = append(errs, fmt.Errorf("%sstorage %q: %w: path", prefix(s.at), s.Type, ErrRequired))
	}
	if len(c.Listeners) == 0 && !dev {
		errs = append(errs, fmt.Errorf(`%w: listener (a listener "tcp" { ... } block)`, ErrRequired))
	}
	for _, l := range c.Listeners {
		if err := l.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := validateSeals(c.Seals); err != nil {
		errs = append(errs, err)
	}
	if s := c.Storage; c.DisableClustering && s != nil && s.Type == "raft" {
		errs = append(errs, fmt.Errorf("%sdisable_clustering: %w: clustering cannot be disabled with raft storage, whose replication runs over the cluster port", prefix(s.at), ErrInvalidValue))
	}
	if c.DefaultLeaseTTL > c.MaxLeaseTTL {
		errs = append(errs, fmt.Errorf("default_lease_ttl: %w: greater than max_lease_ttl", ErrInvalidValue))
	}
	return errors.Join(errs...)
}

// validate checks the combinations of listener settings that parse fine one
// by one but cannot work together.
func (l Listener) validate() error {
	p := prefix(l.at)
	switch {
	case !l.TLSDisable && (l.TLSCertFile == "" || l.TLSKeyFile == ""):
		return fmt.Errorf("%slistener %q: %w: tls_cert_file and tls_key_file (or tls_disable = true)", p, l.Address, ErrRequired)
	case l.TLSRequireAndVerifyClientCert && l.TLSDisableClientCerts:
		return fmt.Errorf("%slistener %q: %w: tls_require_and_verify_client_cert and tls_disable_client_certs are mutually exclusive", p, l.Address, ErrInvalidValue)
	case l.TLSRequireAndVerifyClientCert && l.TLSDisable:
		return fmt.Errorf("%slistener %q: %w: tls_require_and_verify_client_cert needs TLS enabled", p, l.Address, ErrInvalidValue)
	}
	return nil
}

// prefix turns a recorded position into a message prefix; configurations
// built in code have none.
func prefix(at string) string {
	if at == "" {
		return ""
	}
	return at + ": "
}
