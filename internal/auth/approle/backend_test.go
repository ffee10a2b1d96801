package approle

import (
	"context"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// testBackend is an AppRole mount over fresh in-memory storage with a
// clock the test moves.
type testBackend struct {
	*Backend
	store *inmem.Store
	clock time.Time
}

func newTestBackend(t testing.TB) *testBackend {
	t.Helper()
	store := inmem.New()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: store})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	tb := &testBackend{Backend: lb.(*Backend), store: store, clock: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb.now = func() time.Time { return tb.clock }
	return tb
}

func (tb *testBackend) doFrom(t testing.TB, remote string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	return tb.HandleRequest(context.Background(), &logical.Request{
		Operation:  op,
		Path:       path,
		Data:       data,
		Storage:    tb.store,
		Connection: &logical.Connection{RemoteAddr: remote},
	})
}

func (tb *testBackend) do(t testing.TB, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	return tb.doFrom(t, "127.0.0.1:50000", op, path, data)
}

func (tb *testBackend) must(t testing.TB, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := tb.do(t, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// role creates a role and returns its role ID.
func (tb *testBackend) role(t testing.TB, name string, data map[string]any) string {
	t.Helper()
	tb.must(t, logical.UpdateOperation, "role/"+name, data)
	return tb.must(t, logical.ReadOperation, "role/"+name+"/role-id", nil).Data["role_id"].(string)
}

// secretID issues a secret ID and returns it and its accessor.
func (tb *testBackend) secretID(t testing.TB, role string, data map[string]any) (string, string) {
	t.Helper()
	resp := tb.must(t, logical.UpdateOperation, "role/"+role+"/secret-id", data)
	return resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
}

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
