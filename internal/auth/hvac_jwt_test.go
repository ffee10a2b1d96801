package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// TestHvacJWTLogin logs in with hvac's client.auth.jwt.jwt_login
// (testdata/hvac_jwt.py) against a jwt mount trusting a static key.
func TestHvacJWTLogin(t *testing.T) {
	if err := exec.Command(python3, "-c", "import hvac").Run(); err != nil {
		testenv.Missing(t, "hvac", "python3-hvac is not installed (apt-get install python3-hvac): %v", err)
	}
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	must(err)
	must(root.Sys().EnableAuthWithOptions("jwt", &api.EnableAuthOptions{Type: "jwt"}))
	_, err = root.Logical().Write("auth/jwt/config", map[string]any{
		"jwt_validation_pubkeys": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"bound_issuer":           "https://ci.example",
	})
	must(err)
	_, err = root.Logical().Write("auth/jwt/role/svc", map[string]any{
		"role_type": "jwt", "user_claim": "sub", "bound_audiences": "tresor", "token_policies": "svc",
	})
	must(err)
	must(root.Sys().PutPolicy("svc", `path "secret/data/svc" { capabilities = ["read"] }`))
	_, err = root.KVv2("secret").Put(context.Background(), "svc", map[string]any{"password": "svc-pass"})
	must(err)

	mint := func(k *ecdsa.PrivateKey) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
		must(err)
		payload, _ := json.Marshal(map[string]any{"iss": "https://ci.example", "aud": "tresor", "sub": "svc-a",
			"iat": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()})
		obj, err := s.Sign(payload)
		must(err)
		tok, err := obj.CompactSerialize()
		must(err)
		return tok
	}
	cmd := exec.Command(python3, "testdata/hvac_jwt.py")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+s.Addr, "VAULT_JWT="+mint(key), "VAULT_BAD_JWT="+mint(other), "VAULT_TOKEN=")
	out, err := cmd.CombinedOutput()
	t.Logf("hvac: %s", out)
	if err != nil {
		t.Fatalf("hvac jwt login failed: %v", err)
	}
}
