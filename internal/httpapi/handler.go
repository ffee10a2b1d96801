// Package httpapi translates Vault's /v1 HTTP API to logical requests and
// back. It decides nothing: it maps methods to operations, reads the token
// from the headers, bounds and decodes the body, and encodes the response
// envelope or the {"errors":[...]} envelope. All mapping of errors to HTTP
// statuses happens in this package, in respondError.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/cors"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/seal"
)

// Handler answers logical requests; *core.Core is one.
type Handler interface {
	Handle(ctx context.Context, req *logical.Request) (*logical.Response, error)
}

// Sealer runs the seal lifecycle endpoints, which answer while sealed.
type Sealer interface {
	SealStatus(ctx context.Context) (*seal.Status, error)
	Initialize(ctx context.Context, cfg seal.Config, rootTokenID string) (keys [][]byte, rootToken string, err error)
	Unseal(ctx context.Context, key []byte) (bool, error)
	ResetUnseal()
	Seal(ctx context.Context, clientToken string) error
}

// Core is everything the HTTP API needs from the core.
type Core interface {
	Handler
	Sealer
}

// DefaultMaxRequestSize is Vault's default body limit (32 MiB).
const DefaultMaxRequestSize = 32 << 20

// Options tune the HTTP API.
type Options struct {
	// MaxRequestSize bounds request bodies; 0 means the default, a
	// negative value means no limit.
	MaxRequestSize int64
	Logger         *slog.Logger
	// Metrics, when set, observes every request.
	Metrics RequestObserver
	// UnauthenticatedMetrics lets sys/metrics answer without a token
	// (the listener's telemetry { unauthenticated_metrics_access }).
	UnauthenticatedMetrics bool
	// UnauthenticatedRekey and UnauthenticatedGenerateRoot open
	// sys/rekey*/* and sys/generate-root/* to callers without a token (the
	// listener's disable_unauthed_rekey_endpoints = false and
	// disable_unauthed_generate_root_endpoints = false).
	UnauthenticatedRekey        bool
	UnauthenticatedGenerateRoot bool
	// CORS returns the cross-origin policy in force (nil: none).
	CORS func() *cors.Policy
	// CustomHeaders are the listener's custom_response_headers, by
	// "default", status class ("2xx") or code ("404").
	CustomHeaders map[string]map[string]string
}

// RequestObserver records a finished request.
type RequestObserver interface {
	ObserveRequest(method string, code int, d time.Duration)
}

type api struct {
	core    Core
	maxBody int64
	logger  *slog.Logger
	metrics RequestObserver
	// openMetrics is Options.UnauthenticatedMetrics.
	openMetrics   bool
	openRekey     bool
	openGenRoot   bool
	cors          func() *cors.Policy
	customHeaders map[string]map[string]string
	sysSeal       map[string]func(w http.ResponseWriter, r *http.Request, path string)
}

// New returns the http.Handler serving /v1/ for c.
func New(c Core, opts Options) http.Handler {
	a := &api{core: c, maxBody: opts.MaxRequestSize, logger: opts.Logger, metrics: opts.Metrics, openMetrics: opts.UnauthenticatedMetrics,
		openRekey: opts.UnauthenticatedRekey, openGenRoot: opts.UnauthenticatedGenerateRoot,
		cors: opts.CORS, customHeaders: opts.CustomHeaders}
	if a.maxBody == 0 {
		a.maxBody = DefaultMaxRequestSize
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	a.sysSeal = map[string]func(http.ResponseWriter, *http.Request, string){
		"sys/init":        a.handleInit,
		"sys/unseal":      a.handleUnseal,
		"sys/seal":        a.handleSeal,
		"sys/seal-status": a.handleSealStatus,
		"sys/health":      a.handleHealth,
		"sys/leader":      a.handleLeader,
		// The body is a backup file, not JSON (sys_restore.go); a GET of
		// sys/storage/raft/snapshot (the save) takes the logical path.
		"sys/storage/restore":             a.handleRestore,
		"sys/storage/restore-force":       a.handleRestore,
		"sys/storage/raft/snapshot":       a.handleRestore,
		"sys/storage/raft/snapshot-force": a.handleRestore,
	}
	return a
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.metrics != nil {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		defer func() { a.metrics.ObserveRequest(r.Method, sw.code, time.Since(start)) }()
		w = sw
	}
	if len(a.customHeaders) > 0 {
		w = &customHeaderWriter{ResponseWriter: w, byStatus: a.customHeaders}
	}
	reqID := randid.UUID()
	setDefaultHeaders(w.Header(), r)
	if a.applyCORS(w, r) {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.logger.Error("panic serving request", "request_id", reqID, "method", r.Method, "panic", v, "stack", string(debug.Stack()))
			writeErrors(w, http.StatusInternalServerError, []string{"internal error, request id " + reqID})
		}
	}()

	path, err := logicalPath(r)
	if err != nil {
		respondError(w, a.logger, reqID, err)
		return
	}
	if f, ok := a.sysSeal[strings.TrimSuffix(path, "/")]; ok {
		f(w, r, path)
		return
	}
	a.serveLogical(w, r, path, reqID)
}

// serveLogical answers a request through the core's pipeline (Handle).
func (a *api) serveLogical(w http.ResponseWriter, r *http.Request, path, reqID string) {
	req, err := a.newRequest(w, r, path)
	if err != nil {
		respondError(w, a.logger, reqID, err)
		return
	}
	req.ID = reqID
	if a.openMetrics && path == "sys/metrics" ||
		a.openRekey && (strings.HasPrefix(path, "sys/rekey/") || strings.HasPrefix(path, "sys/rekey-recovery-key/")) ||
		a.openGenRoot && strings.HasPrefix(path, "sys/generate-root/") {
		req.Unauthenticated = true
	}
	resp, err := a.core.Handle(r.Context(), req)
	if rl := req.RateLimit; rl != nil {
		h := w.Header()
		h.Set("X-Ratelimit-Limit", strconv.FormatUint(rl.Limit, 10))
		h.Set("X-Ratelimit-Remaining", strconv.FormatUint(rl.Remaining, 10))
		// Vault documents the reset as the seconds until the client's
		// allowance is whole again, like Retry-After.
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(int64(max(time.Until(rl.Reset)+time.Second-1, 0)/time.Second), 10))
	}
	if err != nil {
		respondError(w, a.logger, reqID, err)
		return
	}
	respondLogical(w, req, resp)
}

// statusWriter remembers the status code written, for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// clientToken reads the caller's token from X-Vault-Token or an
// Authorization: Bearer header. Never from the query string, cookies or the
// body: those leak into logs and caches.
func clientToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

func badRequest(msg string) error {
	return &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{msg}}
}
