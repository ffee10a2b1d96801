package pki

import (
	"context"
	"crypto/x509"
	"encoding/pem"
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
	s := inmem.New()
	lb, err := Factory(context.Background(), &logical.BackendConfig{Storage: s, DefaultLeaseTTL: 768 * time.Hour, MaxLeaseTTL: 87600 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b := lb.(*Backend)
	c := &clock{t: time.Now()}
	b.now = c.now
	return &harness{t: t, b: b, s: s, clock: c}
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: h.s})
}

func (h *harness) write(path string, kv ...any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(logical.UpdateOperation, path, m(kv...))
	if err != nil {
		h.t.Fatalf("write %s: %v", path, err)
	}
	return resp
}

func (h *harness) writeErr(path string, kv ...any) error {
	_, err := h.do(logical.UpdateOperation, path, m(kv...))
	return err
}

func (h *harness) read(path string) *logical.Response {
	h.t.Helper()
	resp, err := h.do(logical.ReadOperation, path, nil)
	if err != nil {
		h.t.Fatalf("read %s: %v", path, err)
	}
	return resp
}

func m(kv ...any) map[string]any {
	out := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func cert(t testing.TB, text any) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode([]byte(text.(string)))
	if blk == nil {
		t.Fatalf("no PEM: %v", text)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantErr(t testing.TB, what string, err error, msg string) {
	t.Helper()
	e, ok := logical.AsError(err)
	if !ok || e.Kind != logical.KindInvalidRequest || !strings.Contains(e.Error(), msg) {
		t.Errorf("%s: err = %v, want 400 containing %q", what, err, msg)
	}
}

// rootAndRole makes an EC root and a role for example.com.
func (h *harness) rootAndRole(roleKV ...any) {
	h.t.Helper()
	h.write("root/generate/internal", "common_name", "Test Root", "key_type", "ec", "ttl", "8760h")
	h.write("roles/web", append([]any{"allowed_domains", "example.com", "allow_subdomains", true, "key_type", "ec"}, roleKV...)...)
}
