package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// errNoKey is the one answer to a signature no key verifies: it says
// nothing about which key would have worked.
var errNoKey = errors.New("no known key successfully validated the token signature")

// keySet verifies the signature of a parsed token and returns its payload.
type keySet interface {
	verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error)
}

// staticKeys are the PEM keys of jwt_validation_pubkeys.
type staticKeys []crypto.PublicKey

func (k staticKeys) verify(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	for _, key := range k {
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, errNoKey
}

// parsePublicKeys reads PEM public keys: PKIX ("PUBLIC KEY": RSA, ECDSA or
// Ed25519), PKCS #1 ("RSA PUBLIC KEY") or the key of a certificate.
func parsePublicKeys(pems []string) (staticKeys, error) {
	var out staticKeys
	for _, p := range pems {
		block, rest := pem.Decode([]byte(strings.TrimSpace(p)))
		if block == nil || len(strings.TrimSpace(string(rest))) > 0 {
			return nil, errors.New("data does not contain a single PEM public key")
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			err = fmt.Errorf("unsupported PEM block type %q", block.Type)
		}
		if err != nil {
			return nil, err
		}
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, errors.New("data does not contain any valid RSA, ECDSA or Ed25519 public keys")
		}
		out = append(out, key)
	}
	return out, nil
}

// maxDocument bounds a JWKS or discovery document.
const maxDocument = 1 << 20

// refreshAfter is how long fetched keys are used before being fetched
// again even when every kid is known.
const refreshAfter = time.Hour

// httpClient is an HTTP client trusting caPEM (the system roots when
// empty).
func httpClient(caPEM string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("could not parse CA PEM value successfully")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// getJSON fetches url into v.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %s", url, resp.Status)
	}
	if len(body) > maxDocument {
		return fmt.Errorf("%s: document too large", url)
	}
	return json.Unmarshal(body, v)
}

// remoteKeys is a JWKS fetched from a URL, cached, and fetched again when
// a token names a kid it does not hold. Fetches are serialised: however
// many tokens with unknown kids arrive, one fetch runs at a time, and a
// request that waited for one uses its result rather than starting another.
type remoteKeys struct {
	client *http.Client
	// url returns the JWKS URL (for discovery, found on first use).
	url func(ctx context.Context) (string, error)

	mu      sync.Mutex // held while fetching
	state   sync.RWMutex
	set     *jose.JSONWebKeySet
	fetched time.Time
	gen     uint64
}

func (r *remoteKeys) current() (*jose.JSONWebKeySet, uint64, time.Time) {
	r.state.RLock()
	defer r.state.RUnlock()
	return r.set, r.gen, r.fetched
}

// refresh fetches the key set unless another fetch completed since the
// caller saw generation seen.
func (r *remoteKeys) refresh(ctx context.Context, seen uint64) (*jose.JSONWebKeySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if set, gen, _ := r.current(); gen != seen && set != nil {
		return set, nil
	}
	url, err := r.url(ctx)
	if err != nil {
		return nil, err
	}
	set := new(jose.JSONWebKeySet)
	if err := getJSON(ctx, r.client, url, set); err != nil {
		return nil, fmt.Errorf("fetching keys: %w", err)
	}
	r.state.Lock()
	r.set, r.fetched = set, time.Now()
	r.gen++
	r.state.Unlock()
	return set, nil
}

func (r *remoteKeys) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	set, gen, fetched := r.current()
	if set == nil || time.Since(fetched) > refreshAfter {
		var err error
		if set, err = r.refresh(ctx, gen); err != nil {
			return nil, err
		}
		_, gen, _ = r.current()
	}
	kid := jws.Signatures[0].Header.KeyID
	payload, known := verifyWith(set, kid, jws)
	if payload != nil {
		return payload, nil
	}
	if known || kid == "" {
		return nil, errNoKey
	}
	// A kid the set does not hold: the issuer may have rotated its keys.
	set, err := r.refresh(ctx, gen)
	if err != nil {
		return nil, err
	}
	if payload, _ := verifyWith(set, kid, jws); payload != nil {
		return payload, nil
	}
	return nil, errNoKey
}

// verifyWith tries the public signing keys of set with the token's kid
// (every key when it has none). known reports whether set has that kid.
func verifyWith(set *jose.JSONWebKeySet, kid string, jws *jose.JSONWebSignature) (payload []byte, known bool) {
	keys := set.Keys
	if kid != "" {
		keys = set.Key(kid)
	}
	for i := range keys {
		k := &keys[i]
		if k.Use == "enc" || !k.Valid() || !k.IsPublic() {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue // never a symmetric key
		}
		if p, err := jws.Verify(k.Key); err == nil {
			return p, true
		}
	}
	return nil, len(keys) > 0
}

// discovery finds the JWKS URL of an OpenID provider.
type discovery struct {
	client *http.Client
	issuer string

	mu      sync.Mutex
	jwksURL string
}

func (d *discovery) url(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jwksURL != "" {
		return d.jwksURL, nil
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, d.client, strings.TrimSuffix(d.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return "", err
	}
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(d.issuer, "/") {
		return "", fmt.Errorf("issuer did not match the returned issuer, expected %q got %q", d.issuer, doc.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery document has no jwks_uri")
	}
	d.jwksURL = doc.JWKSURI
	return d.jwksURL, nil
}
