package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ErrNotFound is returned by Lookup for an unknown lease, and by Renew for
// an unknown or expired one.
var ErrNotFound = errors.New("lease not found")

// ErrNotRenewable is returned by Renew for a lease registered as not
// renewable. Its text is Vault's.
var ErrNotRenewable = errors.New("lease is not renewable")

// ErrInvalid is returned by Register for a lease without a usable path or
// ID or without a positive TTL, and by RevokePrefix for an empty prefix.
var ErrInvalid = errors.New("invalid lease")

// DefaultMaxRevokeAttempts is how many failed revocations make a lease
// irrevocable when Options.MaxRevokeAttempts is zero.
const DefaultMaxRevokeAttempts = 6

// Options configure a Manager. Only Revoke is usually needed.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives revocation failures; nil discards them.
	Logger *slog.Logger
	// Revoke revokes l's secret in the issuing engine; a nil error means it
	// is revoked. Nil means there is nothing to call: the lease is simply
	// deleted.
	Revoke func(ctx context.Context, l *Lease) error
	// Renew is the engine's renew hook, asked for a new TTL for l given the
	// increment the client asked for (zero if none). A TTL of zero or less
	// means "the increment, or the issued TTL". Nil means renewing just
	// extends the lease.
	Renew func(ctx context.Context, l *Lease, increment time.Duration) (ttl time.Duration, err error)
	// MaxRevokeAttempts is how many failed revocations by the expiry loop
	// make a lease irrevocable; zero means DefaultMaxRevokeAttempts.
	MaxRevokeAttempts int
}

// Lease is one leased secret, as stored.
type Lease struct {
	// ID is "<Path>/<random>"; Register fills it when empty.
	ID string `json:"id"`
	// Path is where the secret was read: mount path + request path
	// ("database/creds/app").
	Path          string `json:"path"`
	MountAccessor string `json:"mount_accessor"`
	// TokenAccessor is the accessor of the token that created the lease;
	// RevokeByToken finds the lease through it. Empty for none.
	TokenAccessor string `json:"token_accessor,omitempty"`

	IssueTime       time.Time `json:"issue_time"`
	ExpireTime      time.Time `json:"expire_time"`
	LastRenewalTime time.Time `json:"last_renewal_time,omitzero"`
	// TTL is the lease's duration as issued; a renewal without an increment
	// extends the lease by it again.
	TTL time.Duration `json:"ttl"`
	// MaxTTL caps the lease's life from IssueTime (the mount's or the
	// system's max lease TTL); zero means no cap.
	MaxTTL    time.Duration `json:"max_ttl"`
	Renewable bool          `json:"renewable"`

	// InternalData is the engine's secret internal data, handed back on
	// renew and revoke. It goes through JSON: numbers come back as float64.
	InternalData map[string]any `json:"internal_data,omitempty"`
	// Data is the response data the engine needs to revoke.
	Data json.RawMessage `json:"data,omitempty"`

	// Revocation bookkeeping of the expiry loop.
	RevokeAttempts int       `json:"revoke_attempts,omitempty"`
	NextAttempt    time.Time `json:"next_attempt,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	// Irrevocable is set once the loop has given up on the lease.
	Irrevocable bool `json:"irrevocable,omitempty"`
}

// due is when the expiry loop should next try to revoke l.
func (l *Lease) due() time.Time {
	if !l.NextAttempt.IsZero() {
		return l.NextAttempt
	}
	return l.ExpireTime
}

// clone copies l deeply enough for the manager to modify the copy.
func (l *Lease) clone() *Lease {
	c := *l
	return &c
}

// validID rejects IDs that would not be one clean storage path: empty,
// with a leading or trailing "/" or an empty segment.
func validID(id string) error {
	if id == "" || strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") || strings.Contains(id, "//") {
		return fmt.Errorf("%w: bad lease ID %q", ErrInvalid, id)
	}
	return nil
}
