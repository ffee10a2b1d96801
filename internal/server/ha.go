package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/coalesce"
	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/core"
	"github.com/tresorhq/tresor/internal/httpapi"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
	raftstore "github.com/tresorhq/tresor/internal/storage/raft"
)

// cluster is a server's HA side: the cluster port, Raft storage (when
// used), forwarding from standby to active, and the join handshake.
type cluster struct {
	srv    *Server
	raft   *raftstore.Store // nil unless storage "raft"
	port   *clusterPort
	logger *slog.Logger

	apiAddr           string
	disableForwarding bool
	// standbyReads lets a Raft standby answer KV reads (standbyread.go).
	standbyReads bool
	// readIndexes shares the standby's read-index requests.
	readIndexes  coalesce.Fresh[uint64]
	fwdTransport *http.Transport
	lastLeader   atomic.Pointer[string]
	// leader is the active node as last learnt, kept for leaderTTL so
	// forwarded requests do not each ask the storage (on PostgreSQL, a
	// query); forgotten when delivering to it fails.
	leader atomic.Pointer[knownLeader]
	// lastIndex is the newest X-Vault-Index value made: the writes that
	// share a log entry, and the reads between two entries, all answer
	// with the same index.
	lastIndex atomic.Pointer[encodedIndex]

	joinMu sync.Mutex
	join   *pendingJoin
}

// forwardedHeader marks a request forwarded by a standby, so the receiver
// never forwards it again.
const forwardedHeader = "X-Tresor-Forwarded"

// notActiveHeader marks the answer of a node that refused a forwarded
// request because it is not (or no longer) the active node: the request
// was not applied, so the standby may send it again to the newest active
// node.
const notActiveHeader = "X-Tresor-Not-Active"

// newCluster binds the cluster port. clusterAddr is where to listen
// (listener cluster_address, else the API port + 1).
func newCluster(s *Server, cfg *config.Config, rs *raftstore.Store, logger *slog.Logger) (*cluster, error) {
	var lc config.Listener
	if len(cfg.Listeners) > 0 {
		lc = cfg.Listeners[0]
	}
	if cfg.DisableClustering {
		// Standbys redirect to the active node's api_addr: the cluster
		// port would carry nothing, so it is not bound.
		return newClusterState(s, cfg, rs, newUnboundClusterPort(logger), lc, logger), nil
	}
	listen := lc.ClusterAddress
	if listen == "" {
		host, port, err := net.SplitHostPort(lc.Address)
		if err != nil {
			return nil, fmt.Errorf("cluster address: %w", err)
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("cluster address: %w", err)
		}
		if n == 0 {
			listen = net.JoinHostPort(host, "0")
		} else {
			listen = net.JoinHostPort(host, strconv.Itoa(n+1))
		}
	}
	p, err := newClusterPort(listen, hostPort(cfg.ClusterAddr), logger)
	if err != nil {
		return nil, err
	}
	return newClusterState(s, cfg, rs, p, lc, logger), nil
}

func newClusterState(s *Server, cfg *config.Config, rs *raftstore.Store, p *clusterPort, lc config.Listener, logger *slog.Logger) *cluster {
	c := &cluster{srv: s, raft: rs, port: p, logger: logger, apiAddr: cfg.APIAddr}
	if c.apiAddr == "" {
		scheme := "https"
		if lc.TLSDisable {
			scheme = "http"
		}
		c.apiAddr = scheme + "://" + lc.Address
	}
	c.fwdTransport = &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg, err := p.clientConfig(alpnForward)
			if err != nil {
				return nil, &dialError{err}
			}
			d := &tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: 2 * time.Second}}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, &dialError{err}
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute, ResponseHeaderTimeout: 90 * time.Second,
	}
	return c
}

// onClusterTLS is core.HA.ClusterTLS: install the credentials and start
// Raft networking.
func (c *cluster) onClusterTLS(_ context.Context, m *core.ClusterTLS) error {
	if err := c.port.setCreds(m); err != nil {
		return err
	}
	if c.raft != nil && !c.raft.Started() {
		return c.raft.Start(c.port.newRaftLayer(), false)
	}
	return nil
}

// onSealed is core.HA.Sealed: a sealed node leaves Raft, so it can never
// hold leadership that no unsealed node could use, and forgets the cluster
// TLS material (the next unseal installs what the data holds then).
func (c *cluster) onSealed() {
	if c.raft != nil {
		if err := c.raft.Stop(); err != nil {
			c.logger.Warn("stopping raft after seal", "error", err)
		}
	}
	c.port.clearCreds()
	c.forgetLeader()
}

// refreshCreds installs the cluster TLS material as stored now, when a
// standby could not reach the active node: the active node may have made
// new material since this node was unsealed.
func (c *cluster) refreshCreds(ctx context.Context) {
	m, err := c.srv.Core.StoredClusterTLS(ctx)
	if err != nil || m == nil {
		return
	}
	if err := c.port.setCreds(m); err != nil {
		c.logger.Warn("cluster TLS material", "error", err)
	}
}

// local paths a standby answers itself.
var standbyLocal = map[string]bool{
	"/v1/sys/health": true, "/v1/sys/leader": true, "/v1/sys/seal-status": true,
	"/v1/sys/unseal": true, "/v1/sys/init": true, "/v1/sys/seal": true,
}

// handler wraps the API: the join endpoints, then forwarding when this
// node is a standby. forwarded is set on the cluster port's handler.
func (c *cluster) handler(next http.Handler, forwarded bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		if p == "/v1/sys/storage/raft/join" {
			c.handleJoin(w, r)
			return
		}
		if p == readIndexPath && forwarded {
			c.handleReadIndex(w, r)
			return
		}
		standby := c.srv.Core.Standby()
		wasForwarded := forwarded || r.Header.Get(forwardedHeader) != ""
		if wasForwarded && (standby || c.srv.Core.Sealed()) && !standbyLocal[p] {
			// Sent here as to the active node, which this node is not (any
			// more): the sender tries the newest one.
			w.Header().Set(notActiveHeader, "1")
			c.fail(w, errNotActive)
			return
		}
		if !standby || !strings.HasPrefix(p, "/v1/") || standbyLocal[p] {
			switch p {
			case "/v1/sys/storage/raft/bootstrap/challenge":
				c.handleChallenge(w, r)
				return
			case "/v1/sys/storage/raft/bootstrap/answer":
				c.handleAnswer(w, r)
				return
			}
			if c.raft != nil && !standby && !c.srv.Core.Sealed() {
				w = &indexWriter{ResponseWriter: w, c: c}
			}
			next.ServeHTTP(w, r)
			return
		}
		if c.standbyRead(w, r, next) {
			return
		}
		c.forward(w, r, next)
	})
}

// forward sends r to the active node over the cluster port, or redirects
// the client to the active node's api_addr when forwarding is disabled.
// A request that could not be delivered (no active node known, the
// connection to it refused, or the node reached no longer active) is
// retried against the newest active node for up to leaderWait, so clients
// ride through a failover; one that was sent and got no answer is not
// retried (it may have been applied).
func (c *cluster) forward(w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForwardBody))
	if err != nil {
		c.fail(w, errTooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), leaderWait)
	defer cancel()
	for {
		ls, err := c.activeNode(ctx)
		if err != nil {
			if !c.srv.Core.Standby() && !c.srv.Core.Sealed() {
				r.Body = io.NopCloser(bytes.NewReader(body))
				next.ServeHTTP(w, r) // became active meanwhile
				return
			}
			c.fail(w, errNoActive)
			return
		}
		if c.disableForwarding || ls.LeaderClusterAddress == "" {
			target := strings.TrimSuffix(ls.LeaderAddress, "/") + r.URL.RequestURI()
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return
		}
		host := hostPort(ls.LeaderClusterAddress)
		if prev := c.lastLeader.Swap(&host); prev != nil && *prev != host {
			c.fwdTransport.CloseIdleConnections()
		}
		out := r.Clone(r.Context())
		out.URL = &url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		out.RequestURI = ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.Header.Set(forwardedHeader, "1")
		for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
			out.Header.Del(h)
		}
		resp, err := c.fwdTransport.RoundTrip(out)
		var de *dialError
		retry := errors.As(err, &de)
		if err == nil && resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(notActiveHeader) != "" {
			_ = resp.Body.Close()
			retry = true
		}
		if retry || err != nil {
			c.forgetLeader()
		}
		if de != nil {
			c.refreshCreds(ctx)
		}
		if retry {
			select {
			case <-ctx.Done():
				c.fail(w, &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"no active node in the cluster could be reached"}})
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			c.logger.Warn("forwarding to the active node failed", "error", err)
			c.fail(w, &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"forwarding to the active node failed"}})
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		// Through the response's own buffer, with a pooled copy buffer:
		// io.Copy would find the ResponseWriter's ReadFrom, which writes
		// every piece read from the TLS stream straight to the socket
		// and allocates a 32 KiB buffer per response.
		buf := copyBufs.Get().(*[]byte)
		_, _ = io.CopyBuffer(writerOnly{w}, resp.Body, *buf)
		copyBufs.Put(buf)
		return
	}
}

// copyBufs are the buffers forwarded answers are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// writerOnly hides every method but Write, so io.CopyBuffer uses its
// buffer.
type writerOnly struct{ io.Writer }

// maxForwardBody bounds a forwarded request's body (Vault's default
// max_request_size); the active node applies its own limit.
const maxForwardBody = 32 << 20

// dialError marks a forwarding failure before the request was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial active node: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// leaderWait bounds how long a standby waits to learn the active node (a
// node that just started, or an election).
const leaderWait = 10 * time.Second

// leaderTTL is how long a standby trusts what it learnt of the active
// node without asking again. A failover within it costs a forwarded
// request one failed attempt, after which the standby asks at once.
const leaderTTL = time.Second

// knownLeader is the active node as a standby last learnt it.
type knownLeader struct {
	ls      *seal.LeaderStatus
	expires time.Time
}

// forgetLeader drops the remembered active node.
func (c *cluster) forgetLeader() { c.leader.Store(nil) }

// activeNode names the active node, waiting a little for one to be known.
// The answer is remembered for leaderTTL.
func (c *cluster) activeNode(ctx context.Context) (*seal.LeaderStatus, error) {
	if k := c.leader.Load(); k != nil && time.Now().Before(k.expires) {
		return k.ls, nil
	}
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	for {
		ls, err := c.srv.Core.Leader(ctx)
		if err == nil && ls.LeaderAddress != "" && !ls.IsSelf {
			c.leader.Store(&knownLeader{ls: ls, expires: time.Now().Add(leaderTTL)})
			return ls, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("no active node")
		case <-time.After(50 * time.Millisecond):
		}
		if !c.srv.Core.Standby() {
			return nil, errors.New("node is no longer a standby")
		}
	}
}

// fail answers err as Vault's error envelope, through httpapi's one
// mapping of errors to statuses.
func (c *cluster) fail(w http.ResponseWriter, err error) { httpapi.RespondError(w, c.logger, err) }

// Errors of the HA layer, as the client sees them.
var (
	errNotActive = &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"node is not active"}}
	errNoActive  = &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"no active node in the cluster"}}
	errTooLarge  = &logical.Error{Kind: logical.KindTooLarge, Messages: []string{"request body too large"}}
	errNoRaft    = logical.InvalidRequest("raft storage is not in use")
)

// maxJoinBody bounds the join endpoints' bodies.
const maxJoinBody = 64 << 10

// decodeJSON reads a join endpoint's JSON body into v, answering the
// client itself (and returning false) when it cannot.
func (c *cluster) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		c.fail(w, logical.ErrUnsupportedOperation)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJoinBody))
	if err != nil {
		c.fail(w, errTooLarge)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.fail(w, logical.InvalidRequest("error parsing JSON"))
		return false
	}
	return true
}

// --- active node side of the join handshake ---

type challengeResponse struct {
	ServerID string            `json:"server_id"`
	Entries  map[string][]byte `json:"entries"`
}

func (c *cluster) handleChallenge(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ServerID string `json:"server_id"`
	}
	if !c.decodeJSON(w, r, &in) {
		return
	}
	if c.raft == nil {
		c.fail(w, errNoRaft)
		return
	}
	entries, err := c.srv.Core.JoinChallenge(r.Context(), in.ServerID)
	if err != nil {
		c.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(challengeResponse{ServerID: in.ServerID, Entries: entries})
}

type answerResponse struct {
	CACert      []byte `json:"ca_cert"`
	Cert        []byte `json:"cert"`
	Key         []byte `json:"key"`
	AppliedIdx  uint64 `json:"applied_index"`
	LeaderRaft  string `json:"leader_cluster_addr"`
	ClusterName string `json:"cluster_name"`
}

func (c *cluster) handleAnswer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ServerID    string `json:"server_id"`
		Answer      []byte `json:"answer"`
		ClusterAddr string `json:"cluster_addr"`
		NonVoter    bool   `json:"non_voter"`
	}
	if !c.decodeJSON(w, r, &in) {
		return
	}
	if c.raft == nil {
		c.fail(w, errNoRaft)
		return
	}
	if _, _, err := net.SplitHostPort(in.ClusterAddr); err != nil {
		c.fail(w, logical.InvalidRequest("cluster_addr must be host:port"))
		return
	}
	if err := c.srv.Core.VerifyJoinAnswer(r.Context(), in.ServerID, in.Answer); err != nil {
		c.fail(w, err)
		return
	}
	m, err := c.srv.Core.ClusterTLSMaterial(r.Context())
	if err != nil || m == nil {
		c.fail(w, &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"cluster TLS material not available"}})
		return
	}
	if err := c.raft.AddNonvoter(in.ServerID, in.ClusterAddr); err != nil {
		c.fail(w, fmt.Errorf("adding raft peer %q: %w", in.ServerID, err))
		return
	}
	if !in.NonVoter {
		go c.promote(in.ServerID, in.ClusterAddr)
	}
	c.logger.Info("node joined the raft cluster", "node_id", in.ServerID, "cluster_addr", in.ClusterAddr)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answerResponse{CACert: m.CACert, Cert: m.Cert, Key: m.Key,
		AppliedIdx: c.raft.AppliedIndex(), LeaderRaft: c.port.advertise})
}

// promote makes a joined non-voter a voter once it replicates; AddVoter
// commits only when the new node acknowledges, so it runs in the
// background and retries for a while.
func (c *cluster) promote(id, addr string) {
	for range 20 {
		if !c.raft.IsLeader() {
			return
		}
		if err := c.raft.AddVoter(id, addr); err == nil {
			c.logger.Info("raft peer promoted to voter", "node_id", id)
			return
		}
		time.Sleep(3 * time.Second)
	}
	c.logger.Warn("raft peer not promoted to voter", "node_id", id)
}

// --- joining node side ---

// pendingJoin is a join that waits for the operator's unseal keys.
type pendingJoin struct {
	leader *joinTarget
	store  *inmem.Store // the raw seal and keyring entries from the leader
	seal   *seal.Shamir
	shares [][]byte
}

type joinTarget struct {
	addr   string
	client *http.Client
}

type joinRequest struct {
	LeaderAPIAddr       string `json:"leader_api_addr"`
	LeaderCACert        string `json:"leader_ca_cert"`
	LeaderClientCert    string `json:"leader_client_cert"`
	LeaderClientKey     string `json:"leader_client_key"`
	LeaderTLSServerName string `json:"leader_tls_servername"`
	Retry               bool   `json:"retry"`
	NonVoter            bool   `json:"non_voter"`
}

func (c *cluster) handleJoin(w http.ResponseWriter, r *http.Request) {
	var in joinRequest
	if !c.decodeJSON(w, r, &in) {
		return
	}
	if err := c.startJoin(r.Context(), in); err != nil {
		c.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]bool{"joined": true})
}

func invalid(format string, args ...any) error { return logical.InvalidRequest(format, args...) }

// startJoin fetches a challenge from the leader and waits for the unseal
// keys (see haCore.Unseal).
func (c *cluster) startJoin(ctx context.Context, in joinRequest) error {
	if c.raft == nil {
		return invalid("raft storage is not in use on this node")
	}
	if in.LeaderAPIAddr == "" {
		return invalid("leader_api_addr is required")
	}
	u, err := url.Parse(in.LeaderAPIAddr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("leader_api_addr must be an http(s) URL")
	}
	if has, err := c.raft.HasState(); err != nil {
		return err
	} else if has {
		return invalid("this node is already part of a raft cluster")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: in.LeaderTLSServerName}
	if in.LeaderCACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(in.LeaderCACert)) {
			return invalid("leader_ca_cert holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if in.LeaderClientCert != "" || in.LeaderClientKey != "" {
		cert, err := tls.X509KeyPair([]byte(in.LeaderClientCert), []byte(in.LeaderClientKey))
		if err != nil {
			return invalid("leader_client_cert/leader_client_key: not a key pair")
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	t := &joinTarget{addr: strings.TrimSuffix(in.LeaderAPIAddr, "/"), client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil},
	}}
	var ch challengeResponse
	if err := t.post(ctx, "sys/storage/raft/bootstrap/challenge", map[string]string{"server_id": c.raft.NodeID()}, &ch); err != nil {
		return &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"failed to get a join challenge from the leader: " + err.Error()}}
	}
	store := inmem.New()
	for k, v := range ch.Entries {
		if err := store.Put(ctx, &storage.Entry{Key: k, Value: v}); err != nil {
			return err
		}
	}
	sh := seal.NewShamir(store)
	if _, err := sh.Config(ctx); err != nil {
		return invalid("the leader sent no seal configuration")
	}
	c.joinMu.Lock()
	c.join = &pendingJoin{leader: t, store: store, seal: sh}
	c.joinMu.Unlock()
	c.logger.Info("join challenge received; unseal this node with the cluster's keys to finish joining", "leader", t.addr)
	return nil
}

func (t *joinTarget) post(ctx context.Context, path string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.addr+"/v1/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("leader answered %d: %s", resp.StatusCode, strings.Join(e.Errors, "; "))
	}
	return json.Unmarshal(raw, out)
}

// pendingStatus is the seal status while a join waits for keys.
func (c *cluster) pendingStatus(ctx context.Context) (*seal.Status, bool) {
	c.joinMu.Lock()
	j := c.join
	c.joinMu.Unlock()
	if j == nil {
		return nil, false
	}
	cfg, err := j.seal.Config(ctx)
	if err != nil {
		return nil, false
	}
	st := &seal.Status{Type: "shamir", Initialized: true, Sealed: true, Threshold: cfg.SecretThreshold,
		Shares: cfg.SecretShares, StorageType: "raft", HAEnabled: true}
	st.Progress, st.Nonce = j.seal.Progress()
	return st, true
}

// pendingUnseal feeds a share to a pending join. When the threshold is
// reached it answers the challenge, starts Raft with the cluster's TLS
// material, waits for the data and unseals the core with the same shares.
func (c *cluster) pendingUnseal(ctx context.Context, share []byte) (bool, bool, error) {
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	j := c.join
	if j == nil {
		return false, false, nil
	}
	rootKey, err := j.seal.Submit(ctx, share)
	if err != nil {
		if errors.Is(err, seal.ErrInvalidShare) || errors.Is(err, seal.ErrBadShares) {
			return false, true, invalid("%s", err.Error())
		}
		return false, true, err
	}
	j.shares = append(j.shares, bytes.Clone(share))
	if rootKey == nil {
		return false, true, nil
	}
	defer clear(rootKey)
	nonce, err := core.ReadChallenge(ctx, j.store, c.raft.NodeID(), rootKey)
	if err != nil {
		j.shares = nil
		return false, true, invalid("%s", seal.ErrBadShares.Error())
	}
	var ans answerResponse
	err = j.leader.post(ctx, "sys/storage/raft/bootstrap/answer", map[string]any{
		"server_id": c.raft.NodeID(), "answer": nonce, "cluster_addr": c.port.advertise,
	}, &ans)
	if err != nil {
		c.join = nil
		return false, true, &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"join failed: " + err.Error() + " (run the join again)"}}
	}
	if err := c.port.setCreds(&core.ClusterTLS{CACert: ans.CACert, Cert: ans.Cert, Key: ans.Key}); err != nil {
		return false, true, err
	}
	if err := c.raft.Start(c.port.newRaftLayer(), false); err != nil {
		return false, true, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.raft.WaitIndex(wctx, ans.AppliedIdx); err != nil {
		return false, true, fmt.Errorf("waiting for the cluster's data: %w", err)
	}
	c.join = nil
	var unsealed bool
	for _, s := range j.shares {
		if unsealed, err = c.srv.Core.Unseal(ctx, s); err != nil || unsealed {
			break
		}
	}
	for _, s := range j.shares {
		clear(s)
	}
	return unsealed, true, err
}

// retryJoin tries each retry_join leader in turn until a join is pending
// or the node has Raft state.
func (c *cluster) retryJoin(ctx context.Context, targets []raftstore.RetryJoin) {
	if len(targets) == 0 || c.raft == nil {
		return
	}
	for {
		if has, _ := c.raft.HasState(); has || c.raft.Started() {
			return
		}
		c.joinMu.Lock()
		pending := c.join != nil
		c.joinMu.Unlock()
		if pending {
			return
		}
		for _, t := range targets {
			in := joinRequest{LeaderAPIAddr: t.LeaderAPIAddr, LeaderTLSServerName: t.LeaderTLSServerName}
			if t.LeaderCACertFile != "" {
				b, err := os.ReadFile(t.LeaderCACertFile)
				if err != nil {
					c.logger.Warn("retry_join: leader_ca_cert_file", "error", err)
					continue
				}
				in.LeaderCACert = string(b)
			}
			if t.LeaderClientCertFile != "" {
				cb, err1 := os.ReadFile(t.LeaderClientCertFile)
				kb, err2 := os.ReadFile(t.LeaderClientKeyFile)
				if err1 != nil || err2 != nil {
					c.logger.Warn("retry_join: client certificate files unreadable")
					continue
				}
				in.LeaderClientCert, in.LeaderClientKey = string(cb), string(kb)
			}
			if err := c.startJoin(ctx, in); err == nil {
				return
			} else {
				c.logger.Debug("retry_join attempt failed", "leader", t.LeaderAPIAddr, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// beforeInit bootstraps a new one-node Raft cluster so the init's writes
// can commit.
func (c *cluster) beforeInit(ctx context.Context) error {
	if c.raft == nil || c.raft.Started() {
		return nil
	}
	c.joinMu.Lock()
	pending := c.join != nil
	c.joinMu.Unlock()
	if pending {
		return invalid("a raft join is pending on this node; unseal it instead")
	}
	if err := c.raft.Start(c.port.newRaftLayer(), true); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for !c.raft.IsLeader() {
		if wctx.Err() != nil {
			return errors.New("raft: this node did not become leader of its new cluster")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (c *cluster) close() { c.port.close() }

// haCore is the core as the HTTP API sees it on an HA node: init
// bootstraps Raft first, and a pending join answers seal status and unseal.
type haCore struct {
	*core.Core
	c *cluster
}

func (h haCore) Initialize(ctx context.Context, cfg seal.Config, rootTokenID string) ([][]byte, string, error) {
	if err := h.c.beforeInit(ctx); err != nil {
		return nil, "", err
	}
	return h.Core.Initialize(ctx, cfg, rootTokenID)
}

func (h haCore) SealStatus(ctx context.Context) (*seal.Status, error) {
	if st, ok := h.c.pendingStatus(ctx); ok {
		return st, nil
	}
	return h.Core.SealStatus(ctx)
}

func (h haCore) Unseal(ctx context.Context, share []byte) (bool, error) {
	if ok, pending, err := h.c.pendingUnseal(ctx, share); pending {
		return ok, err
	}
	return h.Core.Unseal(ctx, share)
}

func (h haCore) ResetUnseal() {
	h.c.joinMu.Lock()
	if h.c.join != nil {
		h.c.join.seal.Reset()
		h.c.join.shares = nil
	}
	h.c.joinMu.Unlock()
	h.Core.ResetUnseal()
}

// indexWriter adds X-Vault-Index to the answers this node makes itself (as
// the active node, or a standby's read): the index of the state it holds
// when the response starts, which covers the request's own writes (a
// write returns after its local apply) and what it read (see encodeIndex
// for the format).
type indexWriter struct {
	http.ResponseWriter
	c    *cluster
	done bool
}

func (w *indexWriter) set() {
	if w.done {
		return
	}
	w.done = true
	w.Header().Set("X-Vault-Index", w.c.indexValue(w.c.raft.VisibleIndex()))
}

type encodedIndex struct {
	index uint64
	value string
}

// indexValue is encodeIndex(index), reusing the last value made.
func (c *cluster) indexValue(index uint64) string {
	if e := c.lastIndex.Load(); e != nil && e.index == index {
		return e.value
	}
	e := &encodedIndex{index, encodeIndex(index)}
	c.lastIndex.Store(e)
	return e.value
}

func (w *indexWriter) WriteHeader(code int) { w.set(); w.ResponseWriter.WriteHeader(code) }
func (w *indexWriter) Write(b []byte) (int, error) {
	w.set()
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming responses through.
func (w *indexWriter) Flush() {
	w.set()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
