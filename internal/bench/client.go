package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client is a minimal Vault API client built for load: one tuned transport
// shared by every worker, requests prepared once and re-sent, response
// bodies discarded on the hot path. Setup and teardown use Call, which
// speaks the JSON envelope.
type Client struct {
	base  *url.URL // ".../v1/"
	token string
	http  *http.Client
}

// ResponseError is a non-2xx answer to Call, with Vault's error strings.
type ResponseError struct {
	Method, Path string
	Status       int
	Errors       []string
}

func (e *ResponseError) Error() string {
	msg := strings.Join(e.Errors, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s /v1/%s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// NewClient returns a client for the server at address (scheme, host and
// port) sending token, with a transport sized for conns concurrent requests.
// tlsConfig may be nil.
func NewClient(address, token string, tlsConfig *tls.Config, conns int) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(address, "/") + "/v1/")
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("address %q: want http(s)://host:port", address)
	}
	tr := &http.Transport{
		Proxy:       http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// One kept-alive connection per worker, so the benchmark measures
		// requests, not connection set-up; HTTP/1.1 so that each worker is
		// a separate connection, as separate clients would be.
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
		TLSClientConfig:       tlsConfig,
	}
	return &Client{base: u, token: token, http: &http.Client{Transport: tr}}, nil
}

// WithToken returns a client sharing c's transport that sends token.
func (c *Client) WithToken(token string) *Client {
	c2 := *c
	c2.token = token
	return &c2
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Request is a request prepared once and sent many times.
type Request struct {
	tmpl *http.Request
	body []byte
}

// Prepare builds a request for path (relative to /v1/) with a JSON body,
// which may be nil. The body is shared by every Send and must not change.
func (c *Client) Prepare(method, path string, body []byte) *Request {
	u := c.base.JoinPath(path)
	if q := strings.IndexByte(path, '?'); q >= 0 {
		u = c.base.JoinPath(path[:q])
		u.RawQuery = path[q+1:]
	}
	h := http.Header{}
	if c.token != "" {
		h.Set("X-Vault-Token", c.token)
	}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	tmpl := &http.Request{
		Method: method, URL: u, Header: h, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: int64(len(body)),
	}
	return &Request{tmpl: tmpl, body: body}
}

// Send sends r and returns the status; the response body is read and
// discarded so the connection is reused.
func (c *Client) Send(ctx context.Context, r *Request) (int, error) {
	req := r.tmpl.WithContext(ctx)
	if r.body != nil {
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// Call sends a JSON request for setup or teardown and decodes a 2xx
// response into out (if non-nil). Other statuses are a *ResponseError.
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s /v1/%s: %w", method, path, err)
		}
	}
	req := c.Prepare(method, path, body).tmpl.WithContext(ctx)
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s /v1/%s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s /v1/%s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(data, &env) // a non-JSON error body leaves Errors empty
		return &ResponseError{Method: method, Path: path, Status: resp.StatusCode, Errors: env.Errors}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s /v1/%s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// tlsConfig builds the client TLS settings from a CA bundle file (PEM) and
// the skip-verify switch; nil means the system defaults.
func tlsConfig(caCert string, skipVerify bool) (*tls.Config, error) {
	if caCert == "" && !skipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return nil, fmt.Errorf("ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca-cert %s: no PEM certificates found", caCert)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
