package sys

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// Wrapper is what the response-wrapping endpoints need from the core.
type Wrapper interface {
	Unwrap(ctx context.Context, token string) (*logical.Response, error)
	WrapLookup(ctx context.Context, token string) (*logical.Response, error)
	Rewrap(ctx context.Context, token string) (*logical.Response, error)
	Wrap(ctx context.Context, data map[string]any, ttl time.Duration) (*logical.Response, error)
}

// wrapping answers sys/wrapping/{unwrap,lookup,rewrap,wrap}. The first
// three take the wrapping token in the body or, failing that, as the
// request's own token: holding it is the permission.
func (b *Backend) wrapping(ctx context.Context, req *logical.Request, op string) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation && !(op == "lookup" && req.Operation == logical.ReadOperation) {
		return nil, logical.ErrUnsupportedOperation
	}
	if op == "wrap" {
		if req.Token == nil {
			return nil, logical.ErrPermissionDenied
		}
		if req.WrapTTL <= 0 {
			return nil, logical.InvalidRequest("endpoint requires response wrapping to be used")
		}
		if len(req.Data) == 0 {
			return nil, logical.InvalidRequest("empty request, cannot wrap")
		}
		return b.core.Wrap(ctx, req.Data, req.WrapTTL)
	}
	tok, _ := req.Data["token"].(string)
	if tok == "" {
		tok = req.ClientToken
	}
	if tok == "" {
		return nil, logical.InvalidRequest("token not provided")
	}
	switch op {
	case "unwrap":
		return b.core.Unwrap(ctx, tok)
	case "lookup":
		return b.core.WrapLookup(ctx, tok)
	case "rewrap":
		return b.core.Rewrap(ctx, tok)
	}
	return nil, logical.ErrUnsupportedPath
}
