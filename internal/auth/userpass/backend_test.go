package userpass

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// testBackend is a userpass mount over fresh in-memory storage, with cheap
// bcrypt and a clock the test moves.
type testBackend struct {
	*Backend
	store *inmem.Store
	clock time.Time
}

func newTestBackend(t testing.TB, opts map[string]string) *testBackend {
	t.Helper()
	store := inmem.New()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: store, Options: opts})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	tb := &testBackend{Backend: lb.(*Backend), store: store, clock: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb.cost = bcrypt.MinCost
	tb.now = func() time.Time { return tb.clock }
	return tb
}

func (tb *testBackend) do(t testing.TB, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	return tb.HandleRequest(context.Background(), &logical.Request{
		Operation:  op,
		Path:       path,
		Data:       data,
		Storage:    tb.store,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1:4242"},
	})
}

// must runs a request that has to succeed.
func (tb *testBackend) must(t testing.TB, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := tb.do(t, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// wantError checks that err is a client error of the given status and text.
func wantError(t testing.TB, err error, status int, text string) {
	t.Helper()
	e, ok := logical.AsError(err)
	if !ok {
		t.Fatalf("got error %v (%T), want a *logical.Error %d %q", err, err, status, text)
	}
	if e.Status() != status || e.Error() != text {
		t.Fatalf("got %d %q, want %d %q", e.Status(), e.Error(), status, text)
	}
}
