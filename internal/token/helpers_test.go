package token

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// clock is an injectable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	s     *Store
	b     logical.Backend
	clock *clock
	root  string
	// revoked collects the accessors OnRevoke saw.
	mu      sync.Mutex
	revoked []string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if opts.Now == nil {
		opts.Now = f.clock.Now
	}
	opts.OnRevoke = func(_ context.Context, e *Entry) error {
		f.mu.Lock()
		f.revoked = append(f.revoked, e.Accessor)
		f.mu.Unlock()
		return nil
	}
	s, err := Open(t.Context(), inmem.New(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.s, f.b = s, s.Backend()
	root, err := s.Create(t.Context(), &Entry{Policies: []string{"root"}, DisplayName: "root", Path: "auth/token/root"})
	if err != nil {
		t.Fatal(err)
	}
	f.root = root.ID
	return f
}

// do sends a request as the holder of token.
func (f *fixture) do(op logical.Operation, path, token string, data map[string]any) (*logical.Response, error) {
	f.t.Helper()
	req := &logical.Request{Operation: op, Path: path, ClientToken: token, Data: data}
	if e, err := f.s.lookup(f.t.Context(), token, true); err == nil {
		req.Token = &logical.TokenInfo{Accessor: e.Accessor, Policies: e.Policies, Root: e.IsRoot()}
	}
	return f.b.HandleRequest(f.t.Context(), req)
}

// mustDo is do that fails the test on error.
func (f *fixture) mustDo(op logical.Operation, path, token string, data map[string]any) *logical.Response {
	f.t.Helper()
	resp, err := f.do(op, path, token, data)
	if err != nil {
		f.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// create makes a token through auth/token/create as parent.
func (f *fixture) create(parent string, data map[string]any) *logical.Auth {
	f.t.Helper()
	resp := f.mustDo(logical.UpdateOperation, "create", parent, data)
	if resp == nil || resp.Auth == nil {
		f.t.Fatalf("create: no auth in %+v", resp)
	}
	return resp.Auth
}

func (f *fixture) alive(id string) bool {
	_, err := f.s.Lookup(f.t.Context(), id)
	return err == nil
}

func errStatus(err error) int {
	if e, ok := logical.AsError(err); ok {
		return e.Status()
	}
	if err != nil {
		return 500
	}
	return 200
}

func newBenchStore() *inmem.Store { return inmem.New() }
