package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Backend is a mounted KV engine, v1 or v2. It implements logical.Backend
// and logical.ExistenceChecker.
type Backend struct {
	*framework.Backend
	version int
	// defaultTTL is the mount's default lease TTL, KV v1's lease_duration.
	defaultTTL time.Duration
	// now is the clock; tests replace it.
	now func() time.Time
}

// Factory builds a KV backend from the mount's options. A version 2 mount
// over existing v1 data upgrades that data before it returns.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now, defaultTTL: conf.DefaultLeaseTTL}
	var err error
	switch v := conf.Options["version"]; v {
	case "", "1":
		b.version = 1
		b.Backend, err = framework.New(v1Help, b.v1Paths())
	case "2":
		b.version = 2
		b.Backend, err = framework.New(v2Help, b.v2Paths())
		if err == nil && conf.Storage != nil {
			err = b.upgrade(ctx, conf.Storage)
		}
	default:
		return nil, logical.InvalidRequest("invalid KV version %q: must be 1 or 2", v)
	}
	if err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	return b, nil
}

// HandleRequest serves req. On a version 2 mount, a path outside its API
// (a 0.x tutorial's "secret/foo" instead of "secret/data/foo") gets a 404
// that says where the secrets are and which CLI command to use.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	resp, err := b.Backend.HandleRequest(ctx, req)
	if b.version == 2 && errors.Is(err, logical.ErrUnsupportedPath) && !IsV2APIPath(req.Path) {
		return nil, &logical.Error{Kind: logical.KindNotFound, Messages: []string{fmt.Sprintf(
			"unsupported path: %s is a KV version 2 mount, whose secrets are read and written under %sdata/ "+
				"(this is not a KV version 2 API path); with the CLI, use \"kv %s\"",
			req.MountPoint, req.MountPoint, cliVerb(req.Operation))}}
	}
	return resp, err
}

// v2Prefixes are the first path segments of the KV version 2 API.
var v2Prefixes = []string{"data", "metadata", "delete", "undelete", "destroy", "subkeys", "config"}

// IsV2APIPath reports whether p, relative to a KV version 2 mount, starts
// with one of the version 2 API's segments.
func IsV2APIPath(p string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	for _, v := range v2Prefixes {
		if first == v {
			return true
		}
	}
	return false
}

// cliVerb is the kv subcommand that does op.
func cliVerb(op logical.Operation) string {
	switch op {
	case logical.ReadOperation:
		return "get"
	case logical.ListOperation:
		return "list"
	case logical.DeleteOperation:
		return "delete"
	case logical.PatchOperation:
		return "patch"
	}
	return "put"
}

// Version is the KV version the backend serves: 1 or 2.
func (b *Backend) Version() int { return b.version }

const v1Help = `The KV secrets engine, version 1, stores arbitrary secrets as JSON
objects, one per path. Writes replace the whole object.`

const v2Help = `The KV secrets engine, version 2, stores arbitrary secrets as JSON
objects with a configurable number of versions per path, check-and-set
writes, soft deletes and custom metadata.`
