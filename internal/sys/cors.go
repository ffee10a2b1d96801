package sys

import (
	"context"

	"github.com/tresorhq/tresor/internal/cors"
	"github.com/tresorhq/tresor/internal/logical"
)

// CORSConfigurer keeps the server's cross-origin policy (nil: disabled).
type CORSConfigurer interface {
	CORS() *cors.Policy
	SetCORS(ctx context.Context, p *cors.Policy) error
}

// corsConfig answers sys/config/cors: read the policy, enable it with
// allowed_origins (and extra allowed_headers), or delete it.
func (b *Backend) corsConfig(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	switch req.Operation {
	case logical.ReadOperation:
		p := b.core.CORS()
		if p == nil {
			return &logical.Response{Data: map[string]any{"enabled": false}}, nil
		}
		return &logical.Response{Data: map[string]any{
			"enabled": true, "allowed_origins": p.AllowedOrigins, "allowed_headers": p.AllowedHeaders,
		}}, nil
	case logical.UpdateOperation:
		p, err := cors.New(stringList(req.Data["allowed_origins"]), stringList(req.Data["allowed_headers"]))
		if err != nil {
			return nil, logical.InvalidRequest("%s", err.Error())
		}
		return nil, b.core.SetCORS(ctx, p)
	case logical.DeleteOperation:
		return nil, b.core.SetCORS(ctx, nil)
	}
	return nil, logical.ErrUnsupportedOperation
}
