// Package logical is the contract between the core and everything that
// answers requests: secrets engines, auth methods and the system backend.
// It is transport neutral: nothing here knows about HTTP.
//
// A Backend receives a *Request whose Path is relative to its mount and whose
// Storage is a view private to that mount; it answers a *Response or an
// error. Errors that a client may see are *Error values (see errors.go);
// any other error is treated as internal and never shown to the client.
package logical

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Operation is what a request asks for. Its string values are Vault's
// capability names, which policies are written in.
type Operation string

// The operations, as Vault names them.
const (
	ReadOperation   Operation = "read"
	CreateOperation Operation = "create"
	UpdateOperation Operation = "update"
	PatchOperation  Operation = "patch"
	DeleteOperation Operation = "delete"
	ListOperation   Operation = "list"
)

// Connection describes the network peer of a request.
type Connection struct {
	RemoteAddr string
	TLS        *tls.ConnectionState
}

// Request is one call to a backend.
type Request struct {
	ID        string
	Operation Operation
	// Path is relative to the mount while a backend handles it; the core
	// sees the full path ("secret/data/app").
	Path string
	Data map[string]any
	// Query holds URL query parameters of reads and lists (e.g. "version").
	Query map[string][]string
	// ClientToken is the token presented by the caller, if any.
	ClientToken string
	Headers     map[string][]string
	Connection  *Connection

	// Filled in by the core before a backend sees the request.
	MountPoint    string
	MountType     string
	MountAccessor string
	Storage       storage.Store
	// Token describes the caller once the core has authenticated it.
	Token *TokenInfo

	// WrapTTL asks for the response to be wrapped (X-Vault-Wrap-TTL).
	WrapTTL time.Duration
	// Unauthenticated marks a request to a path that needs no token
	// (sys/health, auth/*/login, ...).
	Unauthenticated bool

	// RateLimit is set by the core, for the transport, when a rate limit
	// quota applied to the request and sys/quotas/config asks for the
	// X-Ratelimit-* response headers.
	RateLimit *RateLimit
}

// RateLimit is the state of the rate limit quota a request counted against.
type RateLimit struct {
	Limit, Remaining uint64
	// Reset is when the client's allowance is whole again.
	Reset time.Time
}

// TokenInfo is what a backend may know of the caller's token. It never
// carries the token ID itself.
type TokenInfo struct {
	Accessor    string
	Policies    []string
	DisplayName string
	EntityID    string
	Meta        map[string]string
	Root        bool
}

// Response is a backend's answer.
type Response struct {
	Data     map[string]any
	Auth     *Auth
	Secret   *Secret
	WrapInfo *WrapInfo
	Warnings []string
	// WrappedAccessor is the accessor of a credential in Data (an AppRole
	// secret ID's), shown as wrap_info.wrapped_accessor when the response
	// is wrapped. A login's token accessor is used without it.
	WrappedAccessor string
	// MountType is the type of the mount that answered; the core sets it
	// (the envelope's mount_type).
	MountType string
	// StatusCode overrides the default HTTP status (200, or 204 without a
	// body). Only the few sys endpoints that Vault gives special codes use it.
	StatusCode int
	// Raw, when set, is written to the client as JSON instead of the
	// envelope (for endpoints whose body is the data, like sys/metrics).
	Raw any
	// RawBody, when set, is written as is with RawContentType (Prometheus
	// text at sys/metrics?format=prometheus).
	RawBody        []byte
	RawContentType string
}

// Auth is the auth block of a login or token creation.
type Auth struct {
	ClientToken   string   `json:"client_token"`
	Accessor      string   `json:"accessor"`
	Policies      []string `json:"policies"`
	TokenPolicies []string `json:"token_policies"`
	// IdentityPolicies are the policies the token's entity and its groups
	// add; the core fills them in.
	IdentityPolicies []string          `json:"identity_policies,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	LeaseDuration    int               `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	EntityID         string            `json:"entity_id"`
	TokenType        string            `json:"token_type"`
	Orphan           bool              `json:"orphan"`
	NumUses          int               `json:"num_uses"`
	// MFARequirement is always null: Tresor has no login MFA, and Vault
	// clients expect the key.
	MFARequirement *struct{} `json:"mfa_requirement"`

	// Set by auth methods that want the core to mint the token.
	TTL         time.Duration `json:"-"`
	MaxTTL      time.Duration `json:"-"`
	Period      time.Duration `json:"-"`
	DisplayName string        `json:"-"`
	// BoundCIDRs limit where the minted token may be used from.
	BoundCIDRs []string `json:"-"`
	// Alias names the caller within the auth method (user name, role ID),
	// for audit and identity: the core finds or creates the identity
	// entity with this alias on the login's mount.
	Alias string `json:"-"`
	// AliasMetadata is kept on the entity alias (JWT claim mappings).
	AliasMetadata map[string]string `json:"-"`
	// GroupAliases are the caller's groups within the auth method; the
	// entity joins the external groups with those aliases on the mount.
	GroupAliases []string `json:"-"`
}

// Secret describes a leased secret in a response.
type Secret struct {
	LeaseID   string
	TTL       time.Duration
	MaxTTL    time.Duration
	Renewable bool
	// NoLease makes TTL advice only: the client should read the secret
	// again after it (KV version 1's lease_duration), and the core
	// registers no lease.
	NoLease bool
	// InternalData is kept with the lease and handed back on renew/revoke.
	InternalData map[string]any
}

// WrapInfo is the wrap_info block of a wrapped response.
type WrapInfo struct {
	Token           string    `json:"token"`
	Accessor        string    `json:"accessor"`
	TTL             int       `json:"ttl"`
	CreationTime    time.Time `json:"creation_time"`
	CreationPath    string    `json:"creation_path"`
	WrappedAccessor string    `json:"wrapped_accessor,omitempty"`
}

// Backend answers requests below one mount.
type Backend interface {
	// HandleRequest answers req. It returns (nil, nil) when there is
	// nothing to say (HTTP 204), an *Error for client mistakes, or any
	// other error for internal failures.
	HandleRequest(ctx context.Context, req *Request) (*Response, error)
}

// ExistenceChecker is implemented by backends that can tell whether a write
// creates or updates its target, so that the core checks the `create` or the
// `update` capability. Without it, every write is an update.
type ExistenceChecker interface {
	// ExistenceCheck reports whether req's path has an existence check
	// (checked) and, if so, whether its target exists.
	ExistenceCheck(ctx context.Context, req *Request) (checked, exists bool, err error)
}

// BackendConfig is what a backend is built with when it is mounted.
type BackendConfig struct {
	// Storage is the mount's private storage view (the same one each
	// request carries), for work done at mount time such as upgrades.
	Storage storage.Store
	// Options are the mount's options ("version" for KV).
	Options map[string]string
	Logger  *slog.Logger
	// The mount's effective lease TTLs.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
}

// Factory builds a backend for a new mount.
type Factory func(ctx context.Context, conf *BackendConfig) (Backend, error)

// SpecialPaths lists paths of a backend that the core treats specially.
// Patterns are relative to the mount; a trailing "*" matches any suffix.
type SpecialPaths struct {
	// Root paths need the sudo capability (or a root token).
	Root []string
	// Unauthenticated paths need no token (logins).
	Unauthenticated []string
}

// SpecialPather is implemented by backends with special paths.
type SpecialPather interface {
	SpecialPaths() *SpecialPaths
}

// SecretRevoker is implemented by engines that issue leased secrets: the
// core calls it when a lease expires or is revoked. req carries the mount's
// storage; secret is the lease's secret as issued (its InternalData) and
// data the response data it was issued with.
type SecretRevoker interface {
	RevokeSecret(ctx context.Context, req *Request, secret *Secret, data map[string]any) error
}

// SecretRenewer is implemented by engines whose leases need work on
// renewal; it answers the TTL granted (the core caps it).
type SecretRenewer interface {
	RenewSecret(ctx context.Context, req *Request, secret *Secret, increment time.Duration) (time.Duration, error)
}

// Closer is implemented by backends that hold resources besides their
// storage (connection pools, background loops). The core calls Close when
// the mount is removed and when it seals; the backend is not used again.
type Closer interface {
	Close(ctx context.Context) error
}
