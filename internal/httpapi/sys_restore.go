package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/randid"
)

// Restorer replaces the server's data with a backup (the core does). The
// request carries the caller's token; the restorer authenticates, checks
// sudo and audits it.
type Restorer interface {
	RestoreStorage(ctx context.Context, req *logical.Request, body []byte, force bool) error
}

// handleRestore answers POST sys/storage/restore (and restore-force, as
// Vault's snapshot-force): the body is the backup file, as is, within the
// listener's max_request_size; ?force=true restores another cluster's
// backup. 204 on success, after which the server is sealed.
func (a *api) handleRestore(w http.ResponseWriter, r *http.Request, path string) {
	reqID := randid.UUID()
	rs, ok := a.core.(Restorer)
	if !ok {
		respondError(w, a.logger, reqID, logical.ErrUnsupportedPath)
		return
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, a.logger, reqID, logical.ErrUnsupportedOperation)
		return
	}
	path = strings.TrimSuffix(path, "/")
	force := strings.HasSuffix(path, "-force")
	if v := r.URL.Query().Get("force"); v != "" {
		b, err := parse.Bool(v)
		if err != nil {
			respondError(w, a.logger, reqID, badRequest("force must be a boolean"))
			return
		}
		force = force || b
	}
	body, err := a.readBody(w, r)
	if err != nil {
		respondError(w, a.logger, reqID, err)
		return
	}
	req := &logical.Request{
		ID:          reqID,
		Operation:   logical.UpdateOperation,
		Path:        path,
		ClientToken: clientToken(r),
		Headers:     r.Header,
		Connection:  &logical.Connection{RemoteAddr: r.RemoteAddr, TLS: r.TLS},
		Data:        map[string]any{"force": force},
	}
	if err := rs.RestoreStorage(r.Context(), req, body, force); err != nil {
		respondError(w, a.logger, reqID, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
