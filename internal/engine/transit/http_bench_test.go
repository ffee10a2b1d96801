package transit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/httpapi"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/server"
)

// httpBench is a dev server's /v1 handler, driven in process: the whole
// request path of an encrypt (body decoding, core, engine, envelope) but
// no sockets.
type httpBench struct {
	h    http.Handler
	root string
}

func newHTTPBench(b *testing.B) *httpBench {
	b.Helper()
	srv, err := server.New(&config.Config{
		Storage:         &config.Storage{Type: "inmem"},
		DefaultLeaseTTL: config.DefaultLeaseTTL, MaxLeaseTTL: config.DefaultMaxLeaseTTL,
	}, server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	ctx := context.Background()
	_, root, err := srv.InitDev(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	for _, req := range []*logical.Request{
		{Operation: logical.UpdateOperation, Path: "sys/mounts/transit", ClientToken: root, Data: map[string]any{"type": "transit"}},
		{Operation: logical.UpdateOperation, Path: "transit/keys/bench", ClientToken: root, Data: map[string]any{"type": "aes256-gcm96"}},
	} {
		if _, err := srv.Core.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	return &httpBench{h: httpapi.New(srv.Core, httpapi.Options{}), root: root}
}

// discard is a ResponseWriter that keeps the status and drops the body.
type discard struct {
	header http.Header
	code   int
	n      int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// body is a request body that can be read again.
type body struct{ bytes.Reader }

func (*body) Close() error { return nil }

// run posts raw to path b.N times and checks the status.
func (hb *httpBench) run(b *testing.B, path string, raw []byte) {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", hb.root)
	rb := &body{}
	req.Body = rb
	req.ContentLength = int64(len(raw))
	w := &discard{header: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		rb.Reset(raw)
		clear(w.header)
		w.code, w.n = http.StatusOK, 0
		hb.h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// benchBody is the body tresor bench sends for transit-encrypt-batch.
func benchBody(b *testing.B, n int) []byte {
	pt := base64.StdEncoding.EncodeToString([]byte("4111 1111 1111 1111"))
	if n == 0 {
		raw, _ := json.Marshal(map[string]any{"plaintext": pt})
		return raw
	}
	items := make([]map[string]string, n)
	for i := range items {
		items[i] = map[string]string{"plaintext": pt}
	}
	raw, err := json.Marshal(map[string]any{"batch_input": items})
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkHandlerEncryptBatch100 is tresor bench's transit-encrypt-batch
// request through the /v1 handler in process.
func BenchmarkHandlerEncryptBatch100(b *testing.B) {
	newHTTPBench(b).run(b, "transit/encrypt/bench", benchBody(b, 100))
}

// BenchmarkHandlerEncrypt is the single encrypt of tresor bench's
// transit-encrypt through the /v1 handler in process.
func BenchmarkHandlerEncrypt(b *testing.B) {
	newHTTPBench(b).run(b, "transit/encrypt/bench", benchBody(b, 0))
}
