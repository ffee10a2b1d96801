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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/tresorhq/tresor/internal/core"
)

// The cluster port carries two protocols, told apart by TLS ALPN: Raft
// traffic and requests forwarded from standbys to the active node. Both
// sides present the cluster certificate and verify the peer's against the
// cluster CA, which lives in the barrier: until this node is unsealed (or
// has joined) it holds no credentials and every handshake fails.
const (
	alpnRaft    = "tresor-raft-v1"
	alpnForward = "tresor-forward-v1"
)

// clusterCreds is the TLS material in force (nil until known).
type clusterCreds struct {
	cert tls.Certificate
	pool *x509.CertPool
}

func parseClusterTLS(m *core.ClusterTLS) (*clusterCreds, error) {
	cert, err := tls.X509KeyPair(m.Cert, m.Key)
	if err != nil {
		return nil, fmt.Errorf("cluster certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(m.CACert) {
		return nil, errors.New("cluster CA: no PEM certificate")
	}
	return &clusterCreds{cert: cert, pool: pool}, nil
}

// clusterPort is the cluster listener with its two protocol endpoints.
type clusterPort struct {
	ln        net.Listener
	advertise string // host:port the other nodes dial
	creds     atomic.Pointer[clusterCreds]
	logger    *slog.Logger

	raft    atomic.Pointer[chanListener] // the running Raft's, replaced at each start
	forward *chanListener
	fwdSrv  *http.Server
	wg      sync.WaitGroup
}

func newClusterPort(addr, advertise string, logger *slog.Logger) (*clusterPort, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster listener %s: %w", addr, err)
	}
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	p := &clusterPort{ln: ln, advertise: advertise, logger: logger}
	p.raft.Store(newChanListener(ln.Addr()))
	p.forward = newChanListener(ln.Addr())
	return p, nil
}

// newUnboundClusterPort is the cluster port of a node with clustering
// disabled (PostgreSQL HA that redirects): nothing listens, nothing is
// forwarded, and there is no Raft to carry.
func newUnboundClusterPort(logger *slog.Logger) *clusterPort {
	none := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	p := &clusterPort{logger: logger}
	p.raft.Store(newChanListener(none))
	p.forward = newChanListener(none)
	return p
}

// setCreds installs the cluster TLS material.
func (p *clusterPort) setCreds(m *core.ClusterTLS) error {
	if m == nil {
		return nil
	}
	c, err := parseClusterTLS(m)
	if err != nil {
		return err
	}
	p.creds.Store(c)
	return nil
}

func (p *clusterPort) hasCreds() bool { return p.creds.Load() != nil }

// clearCreds forgets the TLS material: a sealed node takes part in no
// cluster traffic until it is unsealed again.
func (p *clusterPort) clearCreds() { p.creds.Store(nil) }

func (p *clusterPort) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{alpnRaft, alpnForward},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := p.creds.Load()
			if c == nil {
				return nil, errors.New("cluster credentials not loaded (node sealed)")
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				NextProtos:   []string{alpnRaft, alpnForward},
				Certificates: []tls.Certificate{c.cert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    c.pool,
			}, nil
		},
	}
}

func (p *clusterPort) clientConfig(proto string) (*tls.Config, error) {
	c := p.creds.Load()
	if c == nil {
		return nil, errors.New("cluster credentials not loaded")
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{proto},
		Certificates: []tls.Certificate{c.cert},
		RootCAs:      c.pool,
		ServerName:   core.ClusterServerName,
	}, nil
}

// serve accepts cluster connections and hands each, after the handshake,
// to the endpoint its ALPN names. fwd serves forwarded requests.
func (p *clusterPort) serve(fwd http.Handler) {
	if p.ln == nil {
		return // unbound: clustering is disabled
	}
	p.fwdSrv = &http.Server{Handler: fwd, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute,
		ErrorLog: slog.NewLogLogger(p.logger.Handler(), slog.LevelDebug)}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		_ = p.fwdSrv.Serve(p.forward)
	}()
	go func() {
		defer p.wg.Done()
		cfg := p.serverConfig()
		for {
			conn, err := p.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			go p.handshake(tls.Server(conn, cfg))
		}
	}()
}

func (p *clusterPort) handshake(conn *tls.Conn) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := conn.Handshake(); err != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	var dst *chanListener
	var c net.Conn = conn
	switch conn.ConnectionState().NegotiatedProtocol {
	case alpnRaft:
		dst = p.raft.Load()
	case alpnForward:
		// http.Server would look for a handler of this ALPN name in
		// TLSNextProto; hiding the TLS layer makes it serve HTTP/1.1.
		dst, c = p.forward, opaqueConn{conn}
	default:
		_ = conn.Close()
		return
	}
	if !dst.push(c) {
		_ = conn.Close()
	}
}

// opaqueConn hides that a connection is TLS.
type opaqueConn struct{ net.Conn }

func (p *clusterPort) close() {
	if p.ln != nil {
		_ = p.ln.Close()
	}
	p.raft.Load().Close()
	if p.fwdSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.fwdSrv.Shutdown(ctx)
		cancel()
	} else {
		p.forward.Close()
	}
	p.wg.Wait()
}

// raftLayer is the raft.StreamLayer over the cluster port, one per Raft
// start: closing it (when Raft stops) ends its Accept.
type raftLayer struct {
	p  *clusterPort
	ln *chanListener
}

// newRaftLayer gives the port a fresh Raft endpoint.
func (p *clusterPort) newRaftLayer() raftLayer {
	ln := newChanListener(p.ln.Addr())
	if old := p.raft.Swap(ln); old != nil {
		old.Close()
	}
	return raftLayer{p: p, ln: ln}
}

func (l raftLayer) Accept() (net.Conn, error) { return l.ln.Accept() }
func (l raftLayer) Close() error              { return l.ln.Close() }
func (l raftLayer) Addr() net.Addr            { return advertisedAddr(l.p.advertise) }

func (l raftLayer) Dial(addr hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	cfg, err := l.p.clientConfig(alpnRaft)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(addr), cfg)
}

// advertisedAddr is a net.Addr whose String is the advertised address.
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// chanListener is a net.Listener fed connections by the cluster port.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	case <-time.After(10 * time.Second):
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// hostPort strips a scheme from an address ("https://h:8201" → "h:8201").
func hostPort(addr string) string {
	if strings.Contains(addr, "://") {
		if u, err := url.Parse(addr); err == nil {
			return u.Host
		}
	}
	return addr
}
