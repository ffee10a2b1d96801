package sys

import (
	"context"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/lease"
	"github.com/tresorhq/tresor/internal/logical"
)

// Leaser is what the lease endpoints need from the core.
type Leaser interface {
	Leases() *lease.Manager
	LeaseLookup(ctx context.Context, id string) (*lease.Lease, error)
	// LeaseList lists lease IDs below a prefix, tokens included.
	LeaseList(ctx context.Context, prefix string) ([]string, error)
	LeaseRenew(ctx context.Context, id string, increment time.Duration) (*lease.Lease, error)
	LeaseRevoke(ctx context.Context, id string) error
	LeaseRevokePrefix(ctx context.Context, prefix string, force bool) error
}

// leases answers sys/leases/*, and the old sys/renew, sys/revoke,
// sys/revoke-prefix and sys/revoke-force aliases. rest is the path below
// "leases/" (or the alias rewritten to that form).
func (b *Backend) leases(ctx context.Context, req *logical.Request, rest string) (*logical.Response, error) {
	op, arg, _ := strings.Cut(rest, "/")
	id, _ := req.Data["lease_id"].(string)
	if id == "" {
		id = arg
	}
	switch op {
	case "lookup":
		if req.Operation == logical.ListOperation {
			keys, err := b.core.LeaseList(ctx, arg)
			if err != nil {
				return nil, err
			}
			if len(keys) == 0 {
				return nil, &logical.Error{Kind: logical.KindNotFound}
			}
			return &logical.Response{Data: map[string]any{"keys": keys}}, nil
		}
		if req.Operation != logical.UpdateOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		if id == "" {
			return nil, logical.InvalidRequest("missing lease id")
		}
		l, err := b.core.LeaseLookup(ctx, id)
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: leaseData(l, time.Now())}, nil
	case "renew":
		if req.Operation != logical.UpdateOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		if id == "" {
			return nil, logical.InvalidRequest("lease_id must be specified")
		}
		inc, err := parseTTL("increment", req.Data["increment"])
		if err != nil {
			return nil, err
		}
		l, err := b.core.LeaseRenew(ctx, id, inc)
		if err != nil {
			return nil, err
		}
		return &logical.Response{Secret: &logical.Secret{LeaseID: l.ID, TTL: time.Until(l.ExpireTime).Round(time.Second), Renewable: l.Renewable}, Data: map[string]any{}}, nil
	case "revoke":
		if req.Operation != logical.UpdateOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		if id == "" {
			return nil, logical.InvalidRequest("lease_id must be specified")
		}
		return nil, b.core.LeaseRevoke(ctx, id)
	case "revoke-prefix", "revoke-force":
		if req.Operation != logical.UpdateOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		if arg == "" {
			return nil, logical.InvalidRequest("prefix is required")
		}
		return nil, b.core.LeaseRevokePrefix(ctx, arg, op == "revoke-force")
	case "tidy":
		if req.Operation != logical.UpdateOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		return nil, b.core.Leases().Tidy(ctx)
	case "count":
		total, irrevocable := b.core.Leases().Count()
		if t, _ := req.Data["type"].(string); t == "irrevocable" {
			return &logical.Response{Data: map[string]any{"lease_count": irrevocable}}, nil
		}
		return &logical.Response{Data: map[string]any{"lease_count": total, "irrevocable": irrevocable}}, nil
	case "":
		// GET sys/leases?type=irrevocable lists leases that could not be
		// revoked.
		if req.Operation != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		ls, err := b.core.Leases().Irrevocable(ctx)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, l := range ls {
			out = append(out, map[string]any{"lease_id": l.ID, "mount_id": l.MountAccessor, "error": l.LastError, "expire_time": l.ExpireTime.UTC().Format(time.RFC3339Nano)})
		}
		return &logical.Response{Data: map[string]any{"leases": out, "lease_count": len(out)}}, nil
	}
	return nil, logical.ErrUnsupportedPath
}

// leaseData is sys/leases/lookup's answer in Vault's shape.
func leaseData(l *lease.Lease, now time.Time) map[string]any {
	var last any
	if !l.LastRenewalTime.IsZero() {
		last = l.LastRenewalTime.UTC().Format(time.RFC3339Nano)
	}
	ttl := int64(l.ExpireTime.Sub(now).Round(time.Second) / time.Second)
	if ttl < 0 {
		ttl = 0
	}
	return map[string]any{
		"id":           l.ID,
		"issue_time":   l.IssueTime.UTC().Format(time.RFC3339Nano),
		"expire_time":  l.ExpireTime.UTC().Format(time.RFC3339Nano),
		"last_renewal": last,
		"renewable":    l.Renewable,
		"ttl":          ttl,
	}
}
