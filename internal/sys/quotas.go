package sys

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/quota"
)

// Quotas is what the quota endpoints need from the core.
type Quotas interface {
	Quotas() *quota.Manager
}

// quotas answers sys/quotas/rate-limit[/<name>] and sys/quotas/config.
func (b *Backend) quotas(ctx context.Context, req *logical.Request, rest string) (*logical.Response, error) {
	m := b.core.Quotas()
	if rest == "config" {
		return quotaConfig(ctx, m, req)
	}
	name, ok := strings.CutPrefix(rest, "rate-limit")
	if !ok {
		return nil, logical.ErrUnsupportedPath
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		if req.Operation != logical.ListOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		names := m.List()
		if len(names) == 0 {
			return nil, &logical.Error{Kind: logical.KindNotFound}
		}
		return &logical.Response{Data: map[string]any{"keys": names}}, nil
	}
	switch req.Operation {
	case logical.ReadOperation:
		r, err := m.Get(name)
		if errors.Is(err, quota.ErrNotFound) {
			return nil, &logical.Error{Kind: logical.KindNotFound}
		}
		return &logical.Response{Data: map[string]any{
			"name": r.Name, "path": r.Path, "type": "rate-limit", "rate": r.Rate,
			"interval": int64(r.Interval / time.Second), "block_interval": int64(r.BlockInterval / time.Second),
			"role": "", "inheritable": false,
		}}, nil
	case logical.UpdateOperation:
		r := quota.Rule{Name: name}
		if old, err := m.Get(name); err == nil {
			r = old
		}
		if v, ok := req.Data["path"].(string); ok {
			r.Path = v
		}
		if v, ok := req.Data["rate"]; ok {
			rate, err := number(v)
			if err != nil {
				return nil, logical.InvalidRequest("invalid rate: %s", err.Error())
			}
			r.Rate = rate
		}
		for field, dst := range map[string]*time.Duration{"interval": &r.Interval, "block_interval": &r.BlockInterval} {
			if v, ok := req.Data[field]; ok {
				d, err := parseTTL(field, v)
				if err != nil {
					return nil, err
				}
				*dst = d
			}
		}
		if err := m.Put(ctx, r); err != nil {
			return nil, logical.InvalidRequest("%s", err.Error())
		}
		return nil, nil
	case logical.DeleteOperation:
		return nil, m.Delete(ctx, name)
	}
	return nil, logical.ErrUnsupportedOperation
}

// quotaConfig answers sys/quotas/config. As in Vault, a write sets all
// three fields: one it leaves out goes back to its default.
func quotaConfig(ctx context.Context, m *quota.Manager, req *logical.Request) (*logical.Response, error) {
	switch req.Operation {
	case logical.ReadOperation:
		c := m.Config()
		return &logical.Response{Data: map[string]any{
			"enable_rate_limit_audit_logging":    c.AuditRejected,
			"enable_rate_limit_response_headers": c.ResponseHeaders,
			"rate_limit_exempt_paths":            c.ExemptPaths,
		}}, nil
	case logical.UpdateOperation:
		// Vault's clients send booleans as JSON booleans or strings, and
		// lists as arrays or comma-separated strings.
		var c quota.Config
		c.ExemptPaths = stringList(req.Data["rate_limit_exempt_paths"])
		for key, dst := range map[string]*bool{
			"enable_rate_limit_audit_logging":    &c.AuditRejected,
			"enable_rate_limit_response_headers": &c.ResponseHeaders,
		} {
			if v, ok := req.Data[key]; ok {
				b, err := boolValue(v)
				if err != nil {
					return nil, logical.InvalidRequest("invalid value for %s: %s", key, err.Error())
				}
				*dst = b
			}
		}
		if err := m.SetConfig(ctx, c); err != nil {
			if errors.Is(err, quota.ErrInvalidConfig) {
				return nil, logical.InvalidRequest("%s", err.Error())
			}
			return nil, err
		}
		return nil, nil
	}
	return nil, logical.ErrUnsupportedOperation
}

// boolValue reads a JSON boolean or a string such as "true".
func boolValue(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return strconv.ParseBool(x)
	}
	return false, fmt.Errorf("expected a boolean, got %T", v)
}
