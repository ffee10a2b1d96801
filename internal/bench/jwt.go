package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"
)

// jwtLogin measures POST auth/Name/login with an ES256-signed JWT: parse,
// one P-256 signature verification, the claim checks, and a token minted.
// Setup enables the jwt method at auth/Name/ trusting a fresh P-256 key
// and signs one token valid for the whole run; Teardown disables the mount.
type jwtLogin struct {
	c       *Client
	enabled bool
	req     *Request
}

func (w *jwtLogin) Name() string { return "jwt-login" }

func (w *jwtLogin) Setup(ctx context.Context, env *Env) error {
	w.c = env.Client
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := enableAuth(ctx, env, "jwt"); err != nil {
		return err
	}
	w.enabled = true
	mount := "auth/" + env.Name
	err = w.c.Call(ctx, "POST", mount+"/config", map[string]any{
		"jwt_validation_pubkeys": []string{string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		"bound_issuer":           "https://bench.example",
	}, nil)
	if err != nil {
		return fmt.Errorf("jwt config: %w", err)
	}
	err = w.c.Call(ctx, "POST", mount+"/role/bench", map[string]any{
		"role_type": "jwt", "user_claim": "sub", "bound_audiences": []string{"bench"},
		"token_policies": []string{"default"}, "token_ttl": ttlString(env),
	}, nil)
	if err != nil {
		return fmt.Errorf("jwt role: %w", err)
	}
	now := time.Now()
	token, err := signES256(key, map[string]any{
		"iss": "https://bench.example", "aud": "bench", "sub": "bench-service",
		"iat": now.Unix(), "exp": now.Add(max(env.TTL, time.Minute) + time.Hour).Unix(),
	})
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"role": "bench", "jwt": token})
	if err != nil {
		return fmt.Errorf("jwt login body: %w", err)
	}
	w.req = w.c.WithToken("").Prepare("POST", mount+"/login", body)
	return nil
}

func (w *jwtLogin) Do(ctx context.Context, _ int) (int, error) { return w.c.Send(ctx, w.req) }

func (w *jwtLogin) Teardown(ctx context.Context, env *Env) error {
	if !w.enabled {
		return nil
	}
	w.enabled = false
	return disableAuth(ctx, env)
}

// signES256 makes a compact JWS (RFC 7515) of claims with key.
func signES256(key *ecdsa.PrivateKey, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig), nil
}
