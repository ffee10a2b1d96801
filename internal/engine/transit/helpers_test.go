package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     testing.TB
	b     *Backend
	s     storage.Store
	clock *clock
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOn(t, inmem.New())
}

func newHarnessOn(t testing.TB, s storage.Store) *harness {
	t.Helper()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	b := lb.(*Backend)
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b.now = c.now
	return &harness{t: t, b: b, s: s, clock: c}
}

// do runs a request the way the core would: a write whose target does
// not exist is a create.
func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	ctx := context.Background()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: h.s}
	if op == logical.UpdateOperation {
		if checked, exists, err := h.b.ExistenceCheck(ctx, req); err != nil {
			return nil, err
		} else if checked && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return h.b.HandleRequest(ctx, req)
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func (h *harness) write(path string, kv ...any) *logical.Response {
	h.t.Helper()
	return h.must(logical.UpdateOperation, path, m(kv...))
}

func (h *harness) writeErr(path string, kv ...any) error {
	h.t.Helper()
	_, err := h.do(logical.UpdateOperation, path, m(kv...))
	return err
}

func m(kv ...any) map[string]any {
	out := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func enc(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func dec(t testing.TB, s any) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s.(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantErr checks that err is a 400 whose message contains msg.
func wantErr(t testing.TB, what string, err error, msg string) {
	t.Helper()
	e, ok := logical.AsError(err)
	if !ok || e.Kind != logical.KindInvalidRequest || (msg != "" && !strings.Contains(e.Error(), msg)) {
		t.Errorf("%s: err = %v, want 400 containing %q", what, err, msg)
	}
}

// batchResults is a response's batch_results as a client sees them, after
// the JSON encoding the HTTP layer applies.
func batchResults(t *testing.T, resp *logical.Response) []map[string]any {
	t.Helper()
	raw, err := json.Marshal(resp.Data["batch_results"])
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
