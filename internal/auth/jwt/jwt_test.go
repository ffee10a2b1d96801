package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// now is the fixed clock of these tests.
var now = time.Unix(1_800_000_000, 0)

func pemOf(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned is a token with alg "none".
func unsigned(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

type testBackend struct {
	t *testing.T
	b *Backend
	s *inmem.Store
}

func newTestBackend(t *testing.T) *testBackend {
	t.Helper()
	lb, err := Factory(context.Background(), &logical.BackendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b := lb.(*Backend)
	b.now = func() time.Time { return now }
	return &testBackend{t: t, b: b, s: inmem.New()}
}

func (tb *testBackend) do(path string, data map[string]any) (*logical.Response, error) {
	return tb.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.UpdateOperation, Path: path, Data: data, Storage: tb.s,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1:5555"},
	})
}

func (tb *testBackend) must(path string, data map[string]any) *logical.Response {
	tb.t.Helper()
	resp, err := tb.do(path, data)
	if err != nil {
		tb.t.Fatalf("%s: %v", path, err)
	}
	return resp
}

func claimsAt(extra map[string]any) map[string]any {
	c := map[string]any{
		"iss": "https://issuer.example", "sub": "svc-a", "aud": []string{"tresor"},
		"iat": now.Unix() - 10, "exp": now.Unix() + 300,
		"env": "prod", "repo": map[string]any{"name": "web", "branch": "main"},
		"groups": []string{"ops", "dev"},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestLoginChecks(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tb := newTestBackend(t)
	tb.must("config", map[string]any{
		"jwt_validation_pubkeys": []any{pemOf(t, &ecKey.PublicKey), pemOf(t, &rsaKey.PublicKey), pemOf(t, edPub)},
		"bound_issuer":           "https://issuer.example",
	})
	tb.must("role/svc", map[string]any{
		"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor",
		"bound_claims":   map[string]any{"env": "prod", "/repo/branch": []any{"main", "release"}},
		"claim_mappings": map[string]any{"env": "environment", "/repo/name": "repository"}, "groups_claim": "groups",
		"token_policies": "svc", "token_ttl": "1h",
	})
	tb.must("role/globby", map[string]any{
		"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor", "bound_claims_type": "glob",
		"bound_claims": map[string]any{"/repo/name": "w*"},
	})
	tb.must("role/noaud", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_subject": "svc-a"})
	tb.must("role/strict", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor",
		"clock_skew_leeway": "-1", "expiration_leeway": "-1", "not_before_leeway": "-1"})

	pubPEM := pemOf(t, &rsaKey.PublicKey)
	tests := []struct {
		name  string
		role  string
		token string
		err   string // "" for success
	}{
		{"ES256", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(nil)), ""},
		{"RS256", "svc", sign(t, rsaKey, jose.RS256, "", claimsAt(nil)), ""},
		{"PS384", "svc", sign(t, rsaKey, jose.PS384, "", claimsAt(nil)), ""},
		{"EdDSA", "svc", sign(t, edKey, jose.EdDSA, "", claimsAt(nil)), ""},
		{"aud as a string", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"aud": "tresor"})), ""},
		{"glob bound claim", "globby", sign(t, ecKey, jose.ES256, "", claimsAt(nil)), ""},
		{"expired within clock skew", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"exp": now.Unix() - 30})), ""},
		{"no exp: derived from iat", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"exp": nil})), ""},

		{"other key", "svc", sign(t, otherKey, jose.ES256, "", claimsAt(nil)), "error validating token: error verifying token signature: no known key successfully validated the token signature"},
		{"alg none", "svc", unsigned(claimsAt(nil)), "error validating token: error verifying token signature: error parsing token"},
		{"HMAC with the public key", "svc", sign(t, []byte(pubPEM), jose.HS256, "", claimsAt(nil)), "error validating token: error verifying token signature: error parsing token"},
		{"wrong issuer", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"iss": "https://evil"})), "error validating token: invalid issuer (iss) claim"},
		{"wrong audience", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"aud": []string{"other"}})), "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"},
		{"no audience", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"aud": nil})), "error validating token: invalid audience (aud) claim"},
		{"audience but none bound", "noaud", sign(t, ecKey, jose.ES256, "", claimsAt(nil)), "audience claim found in JWT but no audiences bound to the role"},
		{"wrong subject", "noaud", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"aud": nil, "sub": "svc-b"})), "error validating token: invalid subject (sub) claim"},
		{"expired", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"exp": now.Unix() - 120})), "error validating token: invalid expiration time (exp) claim: token is expired"},
		{"expired, no leeway", "strict", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"exp": now.Unix() - 1})), "error validating token: invalid expiration time (exp) claim: token is expired"},
		{"not yet valid", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"nbf": now.Unix() + 600, "exp": now.Unix() + 900})), "error validating token: invalid not before (nbf) claim: token not yet valid"},
		{"issued in the future", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"iat": now.Unix() + 600, "exp": now.Unix() + 900})), "error validating token: invalid not before (nbf) claim: token not yet valid"},
		{"no time claims", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"iat": nil, "exp": nil})), "error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token"},
		{"claim mismatch", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"env": "dev"})), `error validating claims: claim "env" does not match any associated bound claim values`},
		{"nested claim mismatch", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"repo": map[string]any{"name": "web", "branch": "feature"}})), `error validating claims: claim "/repo/branch" does not match any associated bound claim values`},
		{"bound claim missing", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"env": nil})), `error validating claims: claim "env" is missing`},
		{"glob mismatch", "globby", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"repo": map[string]any{"name": "api"}})), `error validating claims: claim "/repo/name" does not match any associated bound claim values`},
		{"user claim missing", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"sub": nil})), `claim "sub" not found in token`},
		{"user claim not a string", "svc", sign(t, ecKey, jose.ES256, "", claimsAt(map[string]any{"sub": 42})), `claim "sub" could not be converted to string`},
		{"garbage", "svc", "not.a.jwt", "error validating token: error verifying token signature: error parsing token"},
		{"unknown role", "nope", sign(t, ecKey, jose.ES256, "", claimsAt(nil)), `role "nope" could not be found`},
		{"missing token", "svc", "", "missing token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tb.do("login", map[string]any{"role": tt.role, "jwt": tt.token})
			if tt.err == "" {
				if err != nil {
					t.Fatalf("login refused: %v", err)
				}
				if resp.Auth == nil || resp.Auth.Alias != "svc-a" {
					t.Fatalf("auth: %+v", resp.Auth)
				}
				return
			}
			var le *logical.Error
			if !errors.As(err, &le) || le.Kind != logical.KindInvalidRequest {
				t.Fatalf("got %v, want a 400", err)
			}
			if !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error %q, want it to start with %q", err, tt.err)
			}
			if strings.Contains(err.Error(), "BEGIN PUBLIC KEY") || strings.Contains(err.Error(), tt.token[:min(len(tt.token), 20)]+"x") {
				t.Fatalf("error leaks material: %q", err)
			}
		})
	}

	resp := tb.must("login", map[string]any{"role": "svc", "jwt": sign(t, ecKey, jose.ES256, "", claimsAt(nil))})
	a := resp.Auth
	if a.Metadata["environment"] != "prod" || a.Metadata["repository"] != "web" || a.Metadata["role"] != "svc" {
		t.Fatalf("metadata: %v", a.Metadata)
	}
	if a.AliasMetadata["repository"] != "web" || len(a.GroupAliases) != 2 || a.Policies[0] != "svc" || a.TTL != time.Hour {
		t.Fatalf("auth: %+v", a)
	}
}

func TestConfigAndRoleRefusals(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := pemOf(t, &ecKey.PublicKey)
	tb := newTestBackend(t)
	for name, c := range map[string]struct {
		path string
		data map[string]any
	}{
		"no key source":        {"config", map[string]any{"bound_issuer": "x"}},
		"two key sources":      {"config", map[string]any{"jwt_validation_pubkeys": pub, "jwks_url": "http://127.0.0.1:1/keys"}},
		"bad PEM":              {"config", map[string]any{"jwt_validation_pubkeys": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}},
		"HMAC alg":             {"config", map[string]any{"jwt_validation_pubkeys": pub, "jwt_supported_algs": "HS256"}},
		"alg none":             {"config", map[string]any{"jwt_validation_pubkeys": pub, "jwt_supported_algs": "none"}},
		"unreachable JWKS":     {"config", map[string]any{"jwks_url": "http://127.0.0.1:1/keys"}},
		"no user claim":        {"role/r", map[string]any{"role_type": "jwt", "bound_subject": "x"}},
		"no bound constraint":  {"role/r", map[string]any{"role_type": "jwt", "user_claim": "sub"}},
		"oidc without URIs":    {"role/r", map[string]any{"user_claim": "sub", "bound_subject": "x"}},
		"bad role type":        {"role/r", map[string]any{"role_type": "saml", "user_claim": "sub", "bound_subject": "x"}},
		"reserved mapping":     {"role/r", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "claim_mappings": "a=role"}},
		"bad bound claim type": {"role/r", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "bound_claims_type": "regex"}},
		"glob on a number":     {"role/r", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob", "bound_claims": map[string]any{"n": json.Number("1")}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tb.do(c.path, c.data)
			var le *logical.Error
			if !errors.As(err, &le) || le.Kind != logical.KindInvalidRequest {
				t.Fatalf("got %v, want a 400", err)
			}
		})
	}
	tb.must("role/o", map[string]any{"user_claim": "sub", "allowed_redirect_uris": "https://x/cb"})
	tb.must("config", map[string]any{"jwt_validation_pubkeys": pub})
	if _, err := tb.do("login", map[string]any{"role": "o", "jwt": "x"}); err == nil || err.Error() != "role with oidc role_type is not allowed" {
		t.Fatalf("oidc role login: %v", err)
	}
}

// jwksServer serves a JWKS that a test can rotate, counting fetches.
type jwksServer struct {
	*httptest.Server
	set     atomic.Pointer[jose.JSONWebKeySet]
	fetches atomic.Int32
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{}
	s.set.Store(&jose.JSONWebKeySet{Keys: keys})
	mux := http.NewServeMux()
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.set.Load())
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": s.URL, "jwks_uri": s.URL + "/keys"})
	})
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

func TestJWKSRotationAndDiscovery(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newJWKSServer(t, jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})

	for _, mode := range []string{"jwks", "discovery"} {
		t.Run(mode, func(t *testing.T) {
			srv.set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
			tb := newTestBackend(t)
			cfg := map[string]any{"jwks_url": srv.URL + "/keys", "jwks_ca_pem": srv.caPEM()}
			if mode == "discovery" {
				cfg = map[string]any{"oidc_discovery_url": srv.URL, "oidc_discovery_ca_pem": srv.caPEM()}
			}
			tb.must("config", cfg)
			tb.must("role/r", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor"})
			login := func(key *ecdsa.PrivateKey, kid string) error {
				_, err := tb.do("login", map[string]any{"role": "r", "jwt": sign(t, key, jose.ES256, kid, claimsAt(nil))})
				return err
			}
			if err := login(k1, "k1"); err != nil {
				t.Fatalf("k1: %v", err)
			}
			// k2 under k1's kid: refused, without a fetch.
			before := srv.fetches.Load()
			if err := login(k2, "k1"); err == nil {
				t.Fatal("wrong key accepted under a known kid")
			}
			if srv.fetches.Load() != before {
				t.Fatal("a known kid with a bad signature triggered a fetch")
			}
			// Rotation: k2 published; its kid is unknown, so keys are fetched again.
			srv.set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k2.PublicKey, KeyID: "k2", Algorithm: "ES256", Use: "sig"}}})
			if err := login(k2, "k2"); err != nil {
				t.Fatalf("after rotation: %v", err)
			}
			if err := login(k2, "k3"); err == nil {
				t.Fatal("unknown kid accepted")
			}
		})
	}
	// Without the CA the server is not trusted.
	tb := newTestBackend(t)
	if _, err := tb.do("config", map[string]any{"jwks_url": srv.URL + "/keys"}); err == nil {
		t.Fatal("JWKS over an untrusted certificate accepted")
	}
}

func TestClaimPointer(t *testing.T) {
	c := map[string]any{"a": map[string]any{"b/c": []any{"x", map[string]any{"~d": "y"}}}, "plain": "p"}
	for ptr, want := range map[string]any{
		"plain": "p", "/plain": "p", "/a/b~1c/0": "x", "/a/b~1c/1/~0d": "y",
		"/a/b~1c/2": nil, "/a/missing": nil, "/plain/x": nil, "/a/b~1c/-1": nil,
	} {
		if got := claim(c, ptr); got != want {
			t.Errorf("claim(%q) = %v, want %v", ptr, got, want)
		}
	}
}

// FuzzValidate feeds arbitrary tokens to the parser and checks: it never
// panics, and nothing but a token signed by the trusted key is accepted.
func FuzzValidate(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := sign(f, key, jose.ES256, "k", claimsAt(nil))
	f.Add(good)
	f.Add(unsigned(claimsAt(nil)))
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Repeat(".", 100))
	f.Add(`{"payload":"e30","signatures":[]}`)
	keys := staticKeys{&key.PublicKey}
	exp := expected{Audiences: []string{"tresor"}, Now: now}
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := validate(context.Background(), tok, keys, exp)
		if err == nil && claims == nil {
			t.Fatal("accepted without claims")
		}
		if err == nil && strings.TrimSpace(tok) != good {
			// A different string can only verify if it is the same JWS
			// re-encoded; its claims must then be the same.
			if claims["sub"] != "svc-a" {
				t.Fatalf("forged token accepted: %q", tok)
			}
		}
	})
}

// BenchmarkLoginES256 is a whole login through the backend: parse, verify
// an ES256 signature, check claims and build the auth block.
func BenchmarkLoginES256(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lb, _ := Factory(context.Background(), &logical.BackendConfig{})
	be := lb.(*Backend)
	st := inmem.New()
	do := func(path string, data map[string]any) (*logical.Response, error) {
		return be.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data, Storage: st})
	}
	if _, err := do("config", map[string]any{"jwt_validation_pubkeys": pemOf(b, &key.PublicKey)}); err != nil {
		b.Fatal(err)
	}
	if _, err := do("role/r", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor",
		"claim_mappings": map[string]any{"env": "environment"}, "token_policies": "p"}); err != nil {
		b.Fatal(err)
	}
	c := claimsAt(nil)
	c["iat"], c["exp"] = time.Now().Unix(), time.Now().Add(time.Hour).Unix()
	tok := sign(b, key, jose.ES256, "", c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := do("login", map[string]any{"role": "r", "jwt": tok}); err != nil {
			b.Fatal(err)
		}
	}
}
