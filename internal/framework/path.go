package framework

import (
	"context"

	"github.com/tresorhq/tresor/internal/logical"
)

// Handler answers one operation on one path.
type Handler func(ctx context.Context, req *Request) (*logical.Response, error)

// ExistenceFunc reports whether the target of a write already exists, so
// the core can tell a create from an update.
type ExistenceFunc func(ctx context.Context, req *Request) (bool, error)

// Path is one endpoint of a backend.
type Path struct {
	// Pattern is the path below the mount; see the package doc.
	Pattern string
	// Fields are the parameters the path accepts, by name.
	Fields map[string]*Field
	// Operations maps each supported operation to its handler. A path
	// that serves create and update alike lists the handler twice.
	Operations map[logical.Operation]Handler
	// ExistenceCheck, if set, is consulted for writes (see
	// logical.ExistenceChecker).
	ExistenceCheck ExistenceFunc
	// TakesArbitraryData marks paths whose body is the payload itself
	// (KV v1, cubbyhole): undeclared parameters raise no warning.
	TakesArbitraryData bool

	Synopsis    string
	Description string
}

// Request is a logical request matched to a Path, with its captures and
// checked field values.
type Request struct {
	*logical.Request
	// Path is the matched endpoint.
	Path *Path
	// Params holds the values of the pattern's named segments and rest
	// capture.
	Params map[string]string

	values map[string]any
	// parse, when set, computes values at the first Decode: an existence
	// check that reads only captures (Param) never converts the body.
	parse func() map[string]any
}

// Decode stores the request's field values and captures in the struct dst
// points to, by `field:"name"` tags (see the package doc). The values were
// checked before the handler ran, so an error here means dst does not fit
// the path's fields: a programming error.
func (r *Request) Decode(dst any) error {
	if r.parse != nil {
		r.values, r.parse = r.parse(), nil
	}
	return assign(r.values, dst)
}

// Param returns the value of the named capture.
func (r *Request) Param(name string) string { return r.Params[name] }
