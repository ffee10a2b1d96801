// Package server assembles a running Tresor server from its configuration:
// storage, then the core with its built-in backends, then the HTTP API on
// each listener. It also owns dev mode and the `tresor server` command.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/auth/approle"
	"github.com/tresorhq/tresor/internal/auth/cert"
	"github.com/tresorhq/tresor/internal/auth/jwt"
	"github.com/tresorhq/tresor/internal/auth/userpass"
	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/core"
	"github.com/tresorhq/tresor/internal/engine/cubbyhole"
	"github.com/tresorhq/tresor/internal/engine/database"
	"github.com/tresorhq/tresor/internal/engine/kv"
	"github.com/tresorhq/tresor/internal/engine/pki"
	"github.com/tresorhq/tresor/internal/engine/transit"
	"github.com/tresorhq/tresor/internal/httpapi"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
	"github.com/tresorhq/tresor/internal/storage/inmem"
	"github.com/tresorhq/tresor/internal/storage/postgres"
	raftstore "github.com/tresorhq/tresor/internal/storage/raft"
	"github.com/tresorhq/tresor/internal/sys"
)

// Server is a configured, not yet listening, Tresor server.
type Server struct {
	Core   *core.Core
	cfg    *config.Config
	logger *slog.Logger
	store  storage.Store
	close  func() error // closes the storage
	// stopBackups ends the scheduled backups (backup.go); nil without.
	stopBackups context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	servers   []*http.Server

	// cluster is the HA side (cluster port, forwarding, Raft join); nil
	// on a single node. See ha.go.
	cluster *cluster
	stopBg  context.CancelFunc
}

// Options are what a Server is built with besides its configuration.
type Options struct {
	Logger *slog.Logger
	// Backends adds mountable types to the built-in ones (tests use it to
	// mount engines of their own).
	Backends map[string]logical.Factory
	// DisableForwarding makes an HA standby redirect clients (307) to the
	// active node's api_addr instead of forwarding their requests, as the
	// configuration's disable_clustering does.
	DisableForwarding bool
}

// New opens the storage cfg names and builds a sealed core over it.
func New(cfg *config.Config, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backends := Backends()
	for k, f := range opts.Backends {
		backends[k] = f
	}
	if cfg.Storage == nil {
		return nil, errors.New("no storage configured")
	}
	if cfg.DisableClustering && cfg.Storage.Type == "raft" {
		return nil, errors.New("disable_clustering cannot be set with raft storage, whose replication runs over the cluster port")
	}
	store, closeStore, err := openStorage(cfg.Storage)
	if err != nil {
		return nil, err
	}
	var forbidden []string
	if cfg.Storage.Path != "" {
		forbidden = append(forbidden, cfg.Storage.Path)
	}
	s := &Server{cfg: cfg, logger: logger, store: store, close: closeStore}
	var ha *core.HA
	// Raft is always an HABackend; PostgreSQL only with ha_enabled.
	if hb, ok := store.(storage.HABackend); ok {
		rs, _ := store.(*raftstore.Store)
		cl, err := newCluster(s, cfg, rs, logger)
		if err != nil {
			_ = closeStore()
			return nil, err
		}
		// With clustering disabled (Vault's disable_clustering) a standby
		// redirects instead of forwarding, and this node, once active,
		// advertises no cluster address, so the others redirect to it.
		cl.disableForwarding = opts.DisableForwarding || cfg.DisableClustering
		cl.standbyReads = rs != nil && !cfg.DisableStandbyReads
		s.cluster = cl
		ha = &core.HA{Backend: hb, APIAddr: cl.apiAddr, ClusterAddr: "https://" + cl.port.advertise, ClusterTLS: cl.onClusterTLS, Sealed: cl.onSealed}
		if cfg.DisableClustering {
			ha.ClusterAddr = ""
		}
	}
	var declared []audit.DeviceConfig
	for _, a := range cfg.Audit {
		declared = append(declared, audit.DeviceConfig{Path: a.Path, Type: a.Type, Description: a.Description, Options: a.Options, Local: a.Local})
	}
	wrapper, err := sealWrapper(cfg.ActiveSeal(), logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	from, err := sealWrapper(cfg.DisabledSeal(), logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	c, err := core.New(core.Config{
		Seal:               wrapper,
		SealFrom:           from,
		AuditForbiddenDirs: forbidden,
		DeclaredAudit:      declared,
		Storage:            store,
		StorageType:        cfg.Storage.Type,
		Logger:             logger,
		System:             func(c *core.Core) logical.Backend { return sys.New(c) },
		Backends:           backends,
		DefaultLeaseTTL:    cfg.DefaultLeaseTTL,
		MaxLeaseTTL:        cfg.MaxLeaseTTL,
		HA:                 ha,
	})
	if err != nil {
		if s.cluster != nil {
			s.cluster.close()
		}
		_ = closeStore()
		return nil, err
	}
	if db, ok := store.(*bolt.Store); ok {
		c.Metrics().RegisterStorageStats(func() (uint64, uint64) {
			st := db.Stats()
			return st.Commits, st.Writes
		})
	}
	s.Core = c
	if s.cluster != nil && s.cluster.raft != nil {
		// A snapshot installed beneath a standby may be another cluster's
		// data: the core checks its keys (and seals if they are stale).
		s.cluster.raft.OnRestore(c.StorageReplaced)
		s.cluster.raft.OnChange(c.Invalidate)
	}
	if err := s.startBackups(); err != nil {
		if s.cluster != nil {
			s.cluster.close()
		}
		_ = closeStore()
		return nil, err
	}
	if s.cluster != nil && s.cluster.raft != nil {
		targets, err := raftstore.ParseRetryJoin(cfg.Storage.Config)
		if err != nil {
			s.cluster.close()
			_ = closeStore()
			return nil, err
		}
		var bg context.Context
		bg, s.stopBg = context.WithCancel(context.Background())
		go s.cluster.retryJoin(bg, targets)
	}
	return s, nil
}

// Backends is the table of mountable secrets engines and auth methods.
func Backends() map[string]logical.Factory {
	return map[string]logical.Factory{
		"kv":        kv.Factory,
		"cubbyhole": cubbyhole.Factory,
		"database":  database.Factory,
		"userpass":  userpass.Factory,
		"approle":   approle.Factory,
		"cert":      cert.Factory,
		"jwt":       jwt.Factory,
		"oidc":      jwt.Factory,
		"transit":   transit.Factory,
		"pki":       pki.Factory,
	}
}

// openStorage maps a storage stanza to a backend. Vault's "file" storage
// becomes a bolt database in that directory: one file, transactional.
func openStorage(st *config.Storage) (storage.Store, func() error, error) {
	switch st.Type {
	case "inmem":
		return inmem.New(), func() error { return nil }, nil
	case "file", "bolt":
		if st.Path == "" {
			return nil, nil, fmt.Errorf("storage %q: path is required", st.Type)
		}
		if err := os.MkdirAll(st.Path, 0o700); err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", st.Type, err)
		}
		db, err := bolt.Open(filepath.Join(st.Path, "tresor.db"), bolt.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", st.Type, err)
		}
		return db, db.Close, nil
	case "raft":
		opts, err := raftstore.ParseOptions(st.Config)
		if err != nil {
			return nil, nil, err
		}
		if _, err := raftstore.ParseRetryJoin(st.Config); err != nil {
			return nil, nil, err
		}
		db, err := raftstore.Open(opts)
		if err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", st.Type, err)
		}
		return db, db.Close, nil
	case "postgresql":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := postgres.Open(ctx, st.Config)
		if err != nil {
			return nil, nil, fmt.Errorf("storage %q: %w", st.Type, err)
		}
		if ha := db.HAStore(); ha != nil {
			// With ha_enabled the store is a storage.HABackend.
			return ha, db.Close, nil
		}
		return db, db.Close, nil
	}
	return nil, nil, fmt.Errorf("storage type %q is not supported (supported: file, bolt, inmem, postgresql, raft)", st.Type)
}

// Listen binds every configured listener. It fails without side effects
// left behind if any address cannot be bound or a TLS file cannot be read.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cluster != nil && len(s.listeners) == 0 {
		fwd := s.cluster.handler(s.apiHandler(config.Listener{}), true)
		s.cluster.port.serve(fwd)
	}
	for _, lc := range s.cfg.Listeners {
		ln, srv, err := s.listen(lc)
		if err != nil {
			for _, l := range s.listeners {
				_ = l.Close()
			}
			s.listeners, s.servers = nil, nil
			return err
		}
		s.listeners = append(s.listeners, ln)
		s.servers = append(s.servers, srv)
	}
	return nil
}

func (s *Server) listen(lc config.Listener) (net.Listener, *http.Server, error) {
	srv := &http.Server{
		Handler:           s.apiHandler(lc),
		ReadHeaderTimeout: 10 * time.Second,
		// A body must arrive within Vault's default max_request_duration,
		// so a slow client cannot hold a connection open for ever.
		ReadTimeout:    90 * time.Second,
		IdleTimeout:    5 * time.Minute,
		MaxHeaderBytes: 1 << 20,
		ErrorLog:       slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	if s.cfg.UI {
		srv.Handler = withUI(srv.Handler, s.logger)
	}
	ln, err := net.Listen("tcp", lc.Address)
	if err != nil {
		return nil, nil, fmt.Errorf("listener %s: %w", lc.Address, err)
	}
	if !lc.TLSDisable {
		tc, err := tlsConfig(lc)
		if err != nil {
			_ = ln.Close()
			return nil, nil, fmt.Errorf("listener %s: %w", lc.Address, err)
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	return ln, srv, nil
}

// apiHandler is the /v1 API for listener lc, behind the HA layer on a
// cluster node.
func (s *Server) apiHandler(lc config.Listener) http.Handler {
	var c httpapi.Core = s.Core
	if s.cluster != nil {
		c = haCore{Core: s.Core, c: s.cluster}
	}
	h := httpapi.New(c, httpapi.Options{
		MaxRequestSize: lc.MaxRequestSize, Logger: s.logger, Metrics: s.Core.Metrics(),
		UnauthenticatedMetrics:      lc.UnauthenticatedMetricsAccess,
		UnauthenticatedRekey:        lc.UnauthedRekey,
		UnauthenticatedGenerateRoot: lc.UnauthedGenerateRoot,
		CORS:                        s.Core.CORS, CustomHeaders: lc.CustomResponseHeaders,
	})
	if s.cluster != nil {
		return s.cluster.handler(h, false)
	}
	return h
}

var tlsVersions = map[string]uint16{
	"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11,
	"tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13,
}

func tlsConfig(lc config.Listener) (*tls.Config, error) {
	if lc.TLSCertFile == "" || lc.TLSKeyFile == "" {
		return nil, errors.New("TLS is enabled but tls_cert_file or tls_key_file is not set (set tls_disable = true for plain HTTP)")
	}
	cert, err := tls.LoadX509KeyPair(lc.TLSCertFile, lc.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if v, ok := tlsVersions[lc.TLSMinVersion]; ok {
		tc.MinVersion = v
	}
	if v, ok := tlsVersions[lc.TLSMaxVersion]; ok {
		tc.MaxVersion = v
	}
	if lc.TLSClientCAFile != "" {
		pem, err := os.ReadFile(lc.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read tls_client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls_client_ca_file holds no PEM certificate")
		}
		tc.ClientCAs = pool
	}
	switch {
	case lc.TLSDisableClientCerts:
		tc.ClientAuth = tls.NoClientCert
	case lc.TLSRequireAndVerifyClientCert:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		tc.ClientAuth = tls.RequestClientCert
	}
	return tc, nil
}

// Addrs returns the bound listener addresses, after Listen.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Serve answers requests on every listener until Shutdown.
func (s *Server) Serve() error {
	s.mu.Lock()
	lns, srvs := s.listeners, s.servers
	s.mu.Unlock()
	errc := make(chan error, len(lns))
	s.Core.StartAutoUnseal()
	for i := range lns {
		go func() { errc <- srvs[i].Serve(lns[i]) }()
	}
	var first error
	for range lns {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
		}
	}
	return first
}

// Shutdown stops the listeners, lets requests in flight finish (until ctx
// ends), seals the core and closes the storage.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srvs := s.servers
	s.mu.Unlock()
	var errs []error
	for _, srv := range srvs {
		errs = append(errs, srv.Shutdown(ctx))
	}
	if s.stopBackups != nil {
		s.stopBackups()
	}
	if s.stopBg != nil {
		s.stopBg()
	}
	s.Core.Shutdown()
	if s.cluster != nil {
		s.cluster.close()
	}
	errs = append(errs, s.close())
	return errors.Join(errs...)
}
