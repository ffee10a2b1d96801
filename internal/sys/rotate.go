package sys

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
)

// Rotator keeps the automatic keyring rotation settings.
type Rotator interface {
	RotationConfig(ctx context.Context) (barrier.RotationConfig, error)
	SetRotationConfig(ctx context.Context, r barrier.RotationConfig) error
}

// rotationConfig answers sys/rotate/config and sys/rotate/keyring/config:
// read the settings, or change max_operations, interval and enabled.
func (b *Backend) rotationConfig(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	r, err := b.core.RotationConfig(ctx)
	if err != nil {
		return nil, err
	}
	if req.Operation == logical.ReadOperation {
		data := map[string]any{"max_operations": r.MaxOperations, "enabled": !r.Disabled, "interval": 0}
		if r.Interval > 0 {
			data["interval"] = r.Interval.String()
		}
		return &logical.Response{Data: data}, nil
	}
	if v, ok := req.Data["max_operations"]; ok {
		n, err := number(v)
		if err != nil || n != float64(int64(n)) {
			return nil, logical.InvalidRequest("invalid value for max_operations: want a whole number")
		}
		r.MaxOperations = int64(n)
	}
	if v, ok := req.Data["interval"]; ok {
		d, err := parse.NonNegativeDuration(v)
		if err != nil {
			return nil, logical.InvalidRequest("invalid value for interval: %s", err.Error())
		}
		r.Interval = d.Truncate(time.Second)
	}
	if v, ok := req.Data["enabled"]; ok {
		on, err := parse.Bool(v)
		if err != nil {
			return nil, logical.InvalidRequest("invalid value for enabled: %s", err.Error())
		}
		r.Disabled = !on
	}
	if err := r.Validate(); err != nil {
		return nil, logical.InvalidRequest("%s", err.Error())
	}
	return nil, b.core.SetRotationConfig(ctx, r)
}
