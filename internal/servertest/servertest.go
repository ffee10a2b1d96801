// Package servertest starts a real, in-process Tresor server on a loopback
// port for tests, and hands back a ready github.com/hashicorp/vault/api
// client — the same client our users and our CLI use.
package servertest

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/server"
)

// Options change the server a test gets.
type Options struct {
	// Uninitialized leaves the server uninitialised and sealed, for tests
	// of the seal lifecycle. Otherwise it is initialised with one key share,
	// unsealed and has KV version 2 at secret/, like a dev server.
	Uninitialized bool
	// Storage replaces the default in-memory storage stanza.
	Storage *config.Storage
	// Backends adds mountable engine types (test engines).
	Backends map[string]logical.Factory
	// UI serves the web UI at /ui/, as ui = true does.
	UI bool
	// Listener, when set, replaces the plain-HTTP loopback listener's
	// settings (its Address is always 127.0.0.1:0).
	Listener *config.Listener
	// Seals are seal stanzas (auto-unseal); with one the server is left
	// uninitialised, as Uninitialized does, since init returns recovery
	// keys.
	Seals []config.Seal
}

// Server is a running test server. It stops when the test ends.
type Server struct {
	*server.Server
	// Addr is the base URL, e.g. "http://127.0.0.1:41234".
	Addr string
	// RootToken and UnsealKeys (base64) are empty when Uninitialized.
	RootToken  string
	UnsealKeys []string
	// Client is an API client for Addr, authenticated with RootToken.
	Client *api.Client
}

// New starts a server for t.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	st := opts.Storage
	if st == nil {
		st = &config.Storage{Type: "inmem"}
	}
	ln := config.Listener{Type: "tcp", TLSDisable: true, MaxRequestSize: config.DefaultMaxRequestSize}
	if opts.Listener != nil {
		ln = *opts.Listener
	}
	ln.Address = "127.0.0.1:0"
	cfg := &config.Config{
		Storage:         st,
		Listeners:       []config.Listener{ln},
		Seals:           opts.Seals,
		DefaultLeaseTTL: config.DefaultLeaseTTL,
		MaxLeaseTTL:     config.DefaultMaxLeaseTTL,
		UI:              opts.UI,
	}
	srv, err := server.New(cfg, server.Options{Backends: opts.Backends})
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("servertest: %v", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})

	scheme := "https://"
	if ln.TLSDisable {
		scheme = "http://"
	}
	s := &Server{Server: srv, Addr: scheme + srv.Addrs()[0].String()}
	apiCfg := api.DefaultConfig()
	apiCfg.Address = s.Addr
	apiCfg.HttpClient = &http.Client{Timeout: 30 * time.Second}
	apiCfg.MaxRetries = 0
	s.Client, err = api.NewClient(apiCfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	s.Client.ClearToken()
	if opts.Uninitialized || len(opts.Seals) > 0 {
		return s
	}
	ctx := context.Background()
	key, root, err := srv.InitDev(ctx, "")
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	s.RootToken = root
	s.UnsealKeys = []string{base64.StdEncoding.EncodeToString(key)}
	s.Client.SetToken(root)
	return s
}
