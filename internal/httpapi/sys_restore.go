package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/randid"
)

// Restorer replaces the server's data with a backup or a Raft snapshot
// (the core does; req.Path tells which). The request carries the caller's
// token; the restorer authenticates, checks sudo and audits it, request
// and response, failing closed like every request.
type Restorer interface {
	RestoreStorage(ctx context.Context, req *logical.Request, body []byte, force bool) error
}

// raftSnapshotPath is where the Raft snapshot is saved (GET, an ordinary
// logical read answering the file) and restored (POST).
const raftSnapshotPath = "sys/storage/raft/snapshot"

// handleRestore answers POST sys/storage/restore (and restore-force, as
// Vault's snapshot-force) and POST sys/storage/raft/snapshot[-force]: the
// body is the backup or snapshot file, as is, within the listener's
// max_request_size; ?force=true (or the -force path) restores another
// cluster's file. 204 on success. A backup restore seals the server; a
// snapshot restore seals it when forced.
func (a *api) handleRestore(w http.ResponseWriter, r *http.Request, path string) {
	reqID := randid.UUID()
	path = strings.TrimSuffix(path, "/")
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		if path == raftSnapshotPath {
			a.serveLogical(w, r, path, reqID)
			return
		}
		respondError(w, a.logger, reqID, logical.ErrUnsupportedOperation)
		return
	}
	rs, ok := a.core.(Restorer)
	if !ok {
		respondError(w, a.logger, reqID, logical.ErrUnsupportedPath)
		return
	}
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
