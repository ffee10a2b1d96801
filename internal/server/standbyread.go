package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/core"
)

// Standby reads (Raft storage). A standby answers a KV read itself, from
// its own copy of the data, once its state machine has applied an index
// that covers every write the read must see:
//
//   - the client's X-Vault-Index, when it sends one (Vault Enterprise's
//     consistency model: the client sees its own writes, and whatever else
//     the node has applied);
//   - otherwise the active node's read index, asked over the cluster port
//     (one small request shared by concurrent reads), which makes the read
//     linearizable: it sees every write acknowledged before it began.
//
// A standby that has not applied that index within standbyLag, cannot
// reach the active node, or whose core declines the request (not a KV
// read, a token with a use limit, a replica being reloaded) forwards it as
// any other request. The answer carries the standby's applied index as
// X-Vault-Index.

// standbyLag bounds how long a standby waits to apply the index a read
// needs before forwarding it instead.
const standbyLag = time.Second

// readIndexPath is the active node's read-index endpoint, served on the
// cluster port only.
const readIndexPath = "/v1/sys/storage/raft/read-index"

// standbyRead answers r if this standby may, and reports whether it did.
func (c *cluster) standbyRead(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if !c.standbyReads || !standbyReadable(r) {
		return false
	}
	need, ok := requiredIndex(r.Header.Values("X-Vault-Index"))
	if !ok {
		idx, err := c.readIndex(r.Context())
		if err != nil {
			return false
		}
		need = idx
	}
	wctx, cancel := context.WithTimeout(r.Context(), standbyLag)
	err := c.raft.WaitIndex(wctx, need)
	cancel()
	if err != nil {
		return false
	}
	ctx := core.WithStandbyRead(r.Context())
	// An answer carries this node's index, as the active node's do.
	sw := &standbyWriter{w: &indexWriter{ResponseWriter: w, c: c}, ctx: ctx, h: http.Header{}}
	next.ServeHTTP(sw, r.WithContext(ctx))
	if core.StandbyReadDeclined(ctx) {
		return false
	}
	if !sw.started {
		sw.WriteHeader(http.StatusOK)
	}
	return true
}

// standbyReadable is a cheap first filter: a GET or LIST without a body,
// outside the system, auth, identity and cubbyhole paths, not asking for a
// wrapped answer or (Vault Enterprise's header) for the active node. The
// core makes the real decision.
func standbyReadable(r *http.Request) bool {
	// A body (unusual on a read) would be consumed by a local attempt
	// before a decline forwards the request: such reads are forwarded.
	if r.Method != http.MethodGet && r.Method != "LIST" || r.ContentLength != 0 {
		return false
	}
	p := r.URL.Path
	for _, prefix := range []string{"/v1/sys/", "/v1/auth/", "/v1/identity/", "/v1/cubbyhole/"} {
		if strings.HasPrefix(p, prefix) {
			return false
		}
	}
	return r.Header.Get("X-Vault-Wrap-TTL") == "" && r.Header.Get("X-Vault-Inconsistent") != "forward-active-node"
}

// standbyWriter holds back the answer until the core has decided: a
// declined request writes nothing (the server forwards it), an answered
// one gets its headers and the standby's applied index.
type standbyWriter struct {
	w       http.ResponseWriter
	ctx     context.Context
	h       http.Header
	started bool
	discard bool
}

func (sw *standbyWriter) Header() http.Header { return sw.h }

func (sw *standbyWriter) WriteHeader(code int) {
	if sw.started {
		return
	}
	sw.started = true
	if core.StandbyReadDeclined(sw.ctx) {
		sw.discard = true
		return
	}
	dst := sw.w.Header()
	for k, v := range sw.h {
		dst[k] = v
	}
	sw.w.WriteHeader(code)
}

func (sw *standbyWriter) Write(b []byte) (int, error) {
	if !sw.started {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.discard {
		return len(b), nil
	}
	return sw.w.Write(b)
}

// readIndex asks the active node for its read index; concurrent reads
// share one request that started after they asked.
func (c *cluster) readIndex(ctx context.Context) (uint64, error) {
	if c.disableForwarding {
		return 0, errors.New("forwarding is disabled")
	}
	return c.readIndexes.Do(ctx, func() (uint64, error) {
		rctx, cancel := context.WithTimeout(context.Background(), standbyLag)
		defer cancel()
		ls, err := c.activeNode(rctx)
		if err != nil {
			return 0, err
		}
		if ls.LeaderClusterAddress == "" {
			return 0, errors.New("the active node advertises no cluster address")
		}
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, (&url.URL{Scheme: "https", Host: hostPort(ls.LeaderClusterAddress), Path: readIndexPath}).String(), nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.fwdTransport.RoundTrip(req)
		if err != nil {
			c.forgetLeader()
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			c.forgetLeader()
			return 0, fmt.Errorf("read index: active node answered %d", resp.StatusCode)
		}
		var out struct {
			Index uint64 `json:"index"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return 0, fmt.Errorf("read index: %w", err)
		}
		return out.Index, nil
	})
}

// handleReadIndex answers a standby's read-index request: on the active
// node, an index covering every write acknowledged before the request.
func (c *cluster) handleReadIndex(w http.ResponseWriter, r *http.Request) {
	if c.raft == nil || c.srv.Core.Standby() || c.srv.Core.Sealed() {
		w.Header().Set(notActiveHeader, "1")
		c.fail(w, errNotActive)
		return
	}
	idx, err := c.raft.ReadIndex(r.Context())
	if err != nil {
		w.Header().Set(notActiveHeader, "1")
		c.fail(w, errNotActive)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{"index": idx})
}

// indexMAC keys the MAC of X-Vault-Index values. It is not a security
// boundary: a forged index can only make a standby wait, then forward.
var indexMAC = []byte("tresor-x-vault-index")

// encodeIndex is an X-Vault-Index value in the shape of Vault
// Enterprise's (base64 of "v1:<cluster>:<index>:0:<mac>"), so the Vault API
// client's RecordState, RequireState and MergeReplicationStates handle it.
func encodeIndex(index uint64) string {
	state := fmt.Sprintf("v1:tresor:%d:0", index)
	return base64.StdEncoding.EncodeToString([]byte(state + ":" + indexTag(state)))
}

// indexTag is the hex MAC that ends an X-Vault-Index value over its state.
func indexTag(state string) string {
	m := hmac.New(sha256.New, indexMAC)
	m.Write([]byte(state))
	return hex.EncodeToString(m.Sum(nil))
}

// requiredIndex is the highest index among X-Vault-Index values. ok is
// false when there is none or one does not parse: the read then takes the
// active node's read index, which covers any index the client saw.
func requiredIndex(values []string) (index uint64, ok bool) {
	for _, raw := range values {
		for _, v := range strings.Split(raw, ",") {
			i, valid := decodeIndex(strings.TrimSpace(v))
			if !valid {
				return 0, false
			}
			index = max(index, i)
			ok = true
		}
	}
	return index, ok
}

func decodeIndex(v string) (uint64, bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 5 || parts[0] != "v1" {
		return 0, false
	}
	i, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return 0, false
	}
	want := indexTag(strings.Join(parts[:4], ":"))
	return i, hmac.Equal([]byte(want), []byte(parts[4]))
}
