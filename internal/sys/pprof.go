package sys

import (
	"bytes"
	"context"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// pprofProfile answers sys/pprof/<name>, as Vault does for `vault debug`:
// "profile" is a CPU profile of ?seconds= (default 30, at most 300); the
// others are runtime profiles (heap, allocs, goroutine, block, mutex,
// threadcreate). Sudo only.
func (b *Backend) pprofProfile(ctx context.Context, req *logical.Request, name string) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	var buf bytes.Buffer
	if name == "profile" {
		secs := 30
		if v, ok := req.Data["seconds"].(string); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 300 {
				return nil, logical.InvalidRequest("seconds must be between 1 and 300")
			}
			secs = n
		}
		if err := pprof.StartCPUProfile(&buf); err != nil {
			return nil, logical.InvalidRequest("a CPU profile is already running")
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-ctx.Done():
		}
		pprof.StopCPUProfile()
	} else {
		p := pprof.Lookup(name)
		if p == nil {
			return nil, logical.ErrUnsupportedPath
		}
		if err := p.WriteTo(&buf, 0); err != nil {
			return nil, err
		}
	}
	return &logical.Response{RawBody: buf.Bytes(), RawContentType: "application/octet-stream"}, nil
}
