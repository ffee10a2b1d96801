package audit

import (
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// EntryType is the "type" of an entry.
type EntryType string

// The two entry types.
const (
	TypeRequest  EntryType = "request"
	TypeResponse EntryType = "response"
)

// Input is what the core hands the broker for one entry. The broker and its
// devices only read it; none of its maps are modified.
type Input struct {
	Request *logical.Request
	// Response is nil in LogRequest and for requests that failed.
	Response *logical.Response
	// Err is the error returned to the client, if any
	// (logical.ErrPermissionDenied for a denied request).
	Err error
	// Auth describes the caller's token; nil for unauthenticated requests.
	Auth *AuthInfo

	// Top-level keys of request and response data to leave unhashed (the
	// mount's audit_non_hmac_request_keys and audit_non_hmac_response_keys).
	NonHMACRequestKeys  []string
	NonHMACResponseKeys []string
	// AuditedHeaders names the request headers to record, in lower case,
	// each mapped to whether its values are hashed
	// (sys/config/auditing/request-headers). Other headers are never
	// recorded, so X-Vault-Token cannot leak through them.
	AuditedHeaders map[string]bool
}

// AuthInfo is the caller's token as the "auth" block of an entry shows it.
type AuthInfo struct {
	ClientToken    string
	Accessor       string
	DisplayName    string
	Policies       []string
	TokenPolicies  []string
	Metadata       map[string]string
	EntityID       string
	TokenType      string
	TokenTTL       time.Duration
	TokenIssueTime time.Time
	// RemainingUses of a use-limited token; 0 when unlimited.
	RemainingUses int
}
