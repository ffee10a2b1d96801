package kv

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// clock is a settable time source for tests.
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

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

type harness struct {
	t     *testing.T
	b     *Backend
	s     storage.Store
	clock *clock
}

func newHarness(t *testing.T, version string) *harness {
	t.Helper()
	return newHarnessOn(t, version, inmem.New())
}

func newHarnessOn(t *testing.T, version string, s storage.Store) *harness {
	t.Helper()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: s, Options: map[string]string{"version": version}})
	if err != nil {
		t.Fatal(err)
	}
	b := lb.(*Backend)
	c := &clock{t: t0}
	b.now = c.now
	return &harness{t: t, b: b, s: s, clock: c}
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: h.s, MountPoint: "secret/"})
}

// must runs a request that has to succeed.
func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// normal round-trips v through JSON, as the HTTP layer would send it.
func normal(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameJSON compares got with the JSON text want.
func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", what, err)
	}
	if g := normal(t, got); !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		t.Errorf("%s:\n got %s\nwant %s", what, gj, want)
	}
}

// wantErr checks that err is a client error of the kind and message.
func wantErr(t *testing.T, what string, err error, kind logical.Kind, msg string) {
	t.Helper()
	e, ok := logical.AsError(err)
	if !ok || e.Kind != kind || (msg != "" && e.Error() != msg) {
		t.Errorf("%s: err = %v, want kind %d %q", what, err, kind, msg)
	}
}

func secret(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return map[string]any{"data": m}
}
