package jwt_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/cli"
	"github.com/tresorhq/tresor/internal/servertest"
)

const issuer = "https://ci.example"

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pubPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	must(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func mint(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	base := map[string]any{"iss": issuer, "aud": "tresor", "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	must(t, err)
	payload, _ := json.Marshal(base)
	obj, err := s.Sign(payload)
	must(t, err)
	tok, err := obj.CompactSerialize()
	must(t, err)
	return tok
}

// runCLI runs the tresor CLI in-process against the server.
func runCLI(t *testing.T, s *servertest.Server, token string, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	vars := map[string]string{"VAULT_ADDR": s.Addr, "VAULT_TOKEN": token}
	code := cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] },
	})
	if code != 0 {
		t.Logf("tresor %s: exit %d: %s", args[0], code, errb.String())
	}
	return out.String(), code
}

func apiErr(err error) (int, string) {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, strings.Join(re.Errors, "; ")
	}
	return 0, ""
}

func login(t *testing.T, s *servertest.Server, mount, role, jwt string) (*api.Client, *api.Secret, error) {
	t.Helper()
	c, err := s.Client.Clone()
	must(t, err)
	c.ClearToken()
	secret, err := c.Logical().Write("auth/"+mount+"/login", map[string]any{"role": role, "jwt": jwt})
	if err != nil {
		return nil, nil, err
	}
	c.SetToken(secret.Auth.ClientToken)
	return c, secret, nil
}

func canRead(c *api.Client, path string) bool {
	_, err := c.KVv2("secret").Get(context.Background(), path)
	return err == nil
}

// TestJWTLoginWithIdentity is the "Done when" list, through Vault's
// Go API client and the CLI.
func TestJWTLoginWithIdentity(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	ctx := context.Background()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// Set up through the CLI.
	for _, args := range [][]string{
		{"auth", "enable", "jwt"},
		{"auth", "enable", "userpass"},
		{"write", "auth/jwt/config", "jwt_validation_pubkeys=" + pubPEM(t, key), "bound_issuer=" + issuer},
		{"write", "auth/jwt/role/svc", "role_type=jwt", "user_claim=sub", "bound_audiences=tresor",
			"groups_claim=groups", "claim_mappings=team=team", "claim_mappings=/ci/branch=branch",
			`bound_claims={"/ci/branch":["main","release-*"]}`, "bound_claims_type=glob",
			"token_policies=svc-own", "token_ttl=1h"},
		{"write", "auth/userpass/users/alice", "password=pw"},
	} {
		if _, code := runCLI(t, s, s.RootToken, args...); code != 0 {
			t.Fatalf("tresor %v failed", args)
		}
	}
	auths, err := root.Sys().ListAuth()
	must(t, err)
	jwtAcc, upAcc := auths["jwt/"].Accessor, auths["userpass/"].Accessor
	must(t, root.Sys().PutPolicy("entity-pol", `path "secret/data/entity" { capabilities = ["read"] }`))
	must(t, root.Sys().PutPolicy("group-pol", `path "secret/data/group" { capabilities = ["read"] }`))
	must(t, root.Sys().PutPolicy("ext-pol", `path "secret/data/ext" { capabilities = ["read"] }`))
	must(t, root.Sys().PutPolicy("svc-own", `path "secret/data/svc/{{identity.entity.aliases.`+jwtAcc+`.name}}/*" { capabilities = ["read"] }`))
	for _, p := range []string{"entity", "group", "ext", "svc/svc-a/db", "svc/svc-b/db"} {
		_, err := root.KVv2("secret").Put(ctx, p, map[string]any{"v": p})
		must(t, err)
	}
	good := map[string]any{"sub": "svc-a", "team": "payments", "ci": map[string]any{"branch": "release-7"}, "groups": []string{"ops"}}

	// Login through the CLI.
	out, code := runCLI(t, s, "", "write", "-format=json", "auth/jwt/login", "role=svc", "jwt="+mint(t, key, "", merge(good, map[string]any{"sub": "svc-cli"})))
	if code != 0 || !strings.Contains(out, `"client_token"`) {
		t.Fatalf("CLI login: %s", out)
	}

	// Each refused case: a 400 in Vault's words.
	refused := []struct {
		name, jwt, want string
	}{
		{"wrong audience", mint(t, key, "", merge(good, map[string]any{"aud": "other"})), "error validating token: invalid audience (aud) claim"},
		{"wrong issuer", mint(t, key, "", merge(good, map[string]any{"iss": "https://evil.example"})), "error validating token: invalid issuer (iss) claim"},
		{"expired", mint(t, key, "", merge(good, map[string]any{"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})), "error validating token: invalid expiration time (exp) claim: token is expired"},
		{"other key", mint(t, other, "", good), "error validating token: error verifying token signature: no known key successfully validated the token signature"},
		{"claim mismatch", mint(t, key, "", merge(good, map[string]any{"ci": map[string]any{"branch": "feature"}})), "error validating claims: claim \"/ci/branch\" does not match any associated bound claim values"},
		{"alg none", noneToken(good), "error validating token: error verifying token signature: error parsing token"},
	}
	for _, r := range refused {
		_, _, err := login(t, s, "jwt", "svc", r.jwt)
		st, msg := apiErr(err)
		if st != http.StatusBadRequest || !strings.HasPrefix(msg, r.want) {
			t.Errorf("%s: %d %q, want 400 %q", r.name, st, msg, r.want)
		}
	}

	// An entity with an alias for the JWT subject, in a group; an
	// external group fed by the groups claim.
	ent, err := root.Logical().Write("identity/entity", map[string]any{"name": "svc-a", "policies": "entity-pol"})
	must(t, err)
	entityID := ent.Data["id"].(string)
	_, err = root.Logical().Write("identity/entity-alias", map[string]any{"name": "svc-a", "mount_accessor": jwtAcc, "canonical_id": entityID})
	must(t, err)
	grp, err := root.Logical().Write("identity/group", map[string]any{"name": "payments", "policies": "group-pol", "member_entity_ids": entityID})
	must(t, err)
	ext, err := root.Logical().Write("identity/group", map[string]any{"name": "ops", "type": "external", "policies": "ext-pol"})
	must(t, err)
	_, err = root.Logical().Write("identity/group-alias", map[string]any{"name": "ops", "mount_accessor": jwtAcc, "canonical_id": ext.Data["id"]})
	must(t, err)

	c, secret, err := login(t, s, "jwt", "svc", mint(t, key, "", good))
	must(t, err)
	if secret.Auth.EntityID != entityID {
		t.Fatalf("login entity %q, want %q", secret.Auth.EntityID, entityID)
	}
	if want := []string{"entity-pol", "ext-pol", "group-pol"}; !slices.Equal(secret.Auth.IdentityPolicies, want) {
		t.Fatalf("identity_policies %v, want %v", secret.Auth.IdentityPolicies, want)
	}
	if secret.Auth.Metadata["team"] != "payments" || secret.Auth.Metadata["branch"] != "release-7" || secret.Auth.Metadata["role"] != "svc" {
		t.Fatalf("token metadata %v", secret.Auth.Metadata)
	}
	self, err := c.Auth().Token().LookupSelf()
	must(t, err)
	if meta, _ := self.Data["meta"].(map[string]any); meta["team"] != "payments" {
		t.Fatalf("lookup meta %v", self.Data["meta"])
	}
	for path, want := range map[string]bool{"entity": true, "group": true, "ext": true, "svc/svc-a/db": true, "svc/svc-b/db": false} {
		if got := canRead(c, path); got != want {
			t.Errorf("read %s: %v, want %v", path, got, want)
		}
	}
	aliasRead, err := root.Logical().Write("identity/lookup/entity", map[string]any{"alias_name": "svc-a", "alias_mount_accessor": jwtAcc})
	must(t, err)
	if al := aliasRead.Data["aliases"].([]any)[0].(map[string]any); al["metadata"].(map[string]any)["team"] != "payments" {
		t.Fatalf("alias metadata %v", al["metadata"])
	}

	// A second service reads only its own path.
	cb, _, err := login(t, s, "jwt", "svc", mint(t, key, "", merge(good, map[string]any{"sub": "svc-b", "groups": []string{}})))
	must(t, err)
	if canRead(cb, "svc/svc-a/db") || !canRead(cb, "svc/svc-b/db") || canRead(cb, "ext") {
		t.Error("svc-b's templated or external-group access is wrong")
	}

	// The same entity through userpass.
	_, err = root.Logical().Write("identity/entity-alias", map[string]any{"name": "alice", "mount_accessor": upAcc, "canonical_id": entityID})
	must(t, err)
	up, err := s.Client.Clone()
	must(t, err)
	up.ClearToken()
	upSecret, err := up.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "pw"})
	must(t, err)
	if upSecret.Auth.EntityID != entityID {
		t.Fatalf("userpass login entity %q, want %q", upSecret.Auth.EntityID, entityID)
	}

	// Deleting the group, then the entity, takes their policies from the
	// token already issued.
	_, err = root.Logical().Delete("identity/group/id/" + grp.Data["id"].(string))
	must(t, err)
	if canRead(c, "group") || !canRead(c, "entity") {
		t.Error("after deleting the group")
	}
	_, err = root.Logical().Delete("identity/entity/id/" + entityID)
	must(t, err)
	if canRead(c, "entity") || canRead(c, "ext") {
		t.Error("after deleting the entity")
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func noneToken(claims map[string]any) string {
	payload, _ := json.Marshal(merge(map[string]any{"iss": issuer, "aud": "tresor", "exp": time.Now().Add(time.Hour).Unix()}, claims))
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + "."
}

// TestJWKSLoginAndOIDCMount logs in against a JWKS served over TLS by a
// local server, across a key rotation, and with the method mounted as oidc.
func TestJWKSLoginAndOIDCMount(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var set atomic.Pointer[jose.JSONWebKeySet]
	set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set.Load())
	}))
	t.Cleanup(jwks.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: jwks.Certificate().Raw}))

	s := servertest.New(t, servertest.Options{})
	root := s.Client
	must(t, root.Sys().EnableAuthWithOptions("jwks", &api.EnableAuthOptions{Type: "jwt"}))
	must(t, root.Sys().EnableAuthWithOptions("oidc", &api.EnableAuthOptions{Type: "oidc"}))
	_, err := root.Logical().Write("auth/jwks/config", map[string]any{"jwks_url": jwks.URL, "jwks_ca_pem": ca, "default_role": "svc"})
	must(t, err)
	_, err = root.Logical().Write("auth/oidc/config", map[string]any{"jwt_validation_pubkeys": pubPEM(t, k1)})
	must(t, err)
	for _, m := range []string{"jwks", "oidc"} {
		_, err = root.Logical().Write("auth/"+m+"/role/svc", map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor"})
		must(t, err)
	}
	cfg, err := root.Logical().Read("auth/jwks/config")
	must(t, err)
	if cfg.Data["jwks_url"] != jwks.URL {
		t.Fatalf("config read: %v", cfg.Data)
	}

	claims := map[string]any{"sub": "svc-a"}
	if _, _, err := login(t, s, "jwks", "", mint(t, k1, "k1", claims)); err != nil {
		t.Fatalf("JWKS login (default role): %v", err)
	}
	if _, _, err := login(t, s, "oidc", "svc", mint(t, k1, "", claims)); err != nil {
		t.Fatalf("login on the oidc mount: %v", err)
	}
	set.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k2.PublicKey, KeyID: "k2", Algorithm: "ES256", Use: "sig"}}})
	if _, _, err := login(t, s, "jwks", "svc", mint(t, k2, "k2", claims)); err != nil {
		t.Fatalf("JWKS login after rotation: %v", err)
	}
	_, _, err = login(t, s, "jwks", "svc", mint(t, k1, "k1", claims))
	if st, msg := apiErr(err); st != http.StatusBadRequest || strings.Contains(msg, "k2") {
		t.Fatalf("retired key: %d %q", st, msg)
	}
	list, err := root.Logical().List("auth/jwks/role")
	must(t, err)
	if keys := list.Data["keys"].([]any); len(keys) != 1 || keys[0] != "svc" {
		t.Fatalf("role list %v", list.Data)
	}
	_, err = root.Logical().Delete("auth/jwks/role/svc")
	must(t, err)
	if _, _, err := login(t, s, "jwks", "svc", mint(t, k2, "k2", claims)); err == nil {
		t.Fatal("login with a deleted role")
	}
}
