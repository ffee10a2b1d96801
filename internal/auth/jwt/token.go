package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// safeAlgs are the signing algorithms a token may use: asymmetric ones
// only. "none" and the HMAC algorithms are never accepted, whatever the
// configuration says, so a public key can never serve as an HMAC secret.
var safeAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// Default leeways, as Vault's.
const (
	defaultClockSkew = 60 * time.Second
	defaultLeeway    = 150 * time.Second
)

// expected is what a token's registered claims must satisfy.
type expected struct {
	Issuer    string
	Subject   string
	Audiences []string
	Algs      []jose.SignatureAlgorithm
	// Leeways: zero means the default, negative none.
	ClockSkew, Expiration, NotBefore time.Duration
	Now                              time.Time
}

func leeway(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// maxTokenSize bounds a presented JWT.
const maxTokenSize = 64 << 10

// validate checks token's signature with keys and its registered claims
// against exp, and returns all its claims. Numbers are json.Number.
func validate(ctx context.Context, token string, keys keySet, exp expected) (map[string]any, error) {
	if len(token) > maxTokenSize {
		return nil, errors.New("error parsing token: token too large")
	}
	algs := exp.Algs
	if len(algs) == 0 {
		algs = safeAlgs
	}
	jws, err := jose.ParseSignedCompact(strings.TrimSpace(token), algs)
	if err != nil {
		return nil, fmt.Errorf("error verifying token signature: error parsing token: %s", parseErrorText(err))
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("error verifying token signature: token with multiple signatures not supported")
	}
	if !slices.Contains(safeAlgs, jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)) {
		return nil, errors.New("invalid algorithm (alg) header parameter: token signed with unexpected algorithm")
	}
	payload, err := keys.verify(ctx, jws)
	if err != nil {
		return nil, fmt.Errorf("error verifying token signature: %w", err)
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := checkRegistered(claims, exp); err != nil {
		return nil, err
	}
	return claims, nil
}

// parseErrorText is a parse error without go-jose's package prefix.
func parseErrorText(err error) string {
	return strings.TrimPrefix(err.Error(), "go-jose/go-jose: ")
}

// decodeClaims reads a JWT payload: a JSON object, numbers kept exact.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, errors.New("error parsing claims: payload is not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("error parsing claims: trailing data after the claims")
	}
	return claims, nil
}

// numericDate reads a NumericDate claim; 0 when absent.
func numericDate(claims map[string]any, name string) (int64, error) {
	v, ok := claims[name]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("invalid %s claim: not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid %s claim: not a valid date", name)
	}
	return int64(f), nil
}

// audiences reads the aud claim: a string or a list of strings.
func audiences(claims map[string]any) ([]string, error) {
	switch v := claims["aud"].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, errors.New("invalid audience (aud) claim: not a string or list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("invalid audience (aud) claim: not a string or list of strings")
}

// checkRegistered checks iss, sub, aud, exp, nbf and iat, with Vault's
// wording and leeway rules: exp and nbf missing are derived from the
// others with their leeways; the clock skew leeway applies to all three.
func checkRegistered(claims map[string]any, exp expected) error {
	str := func(name string) string { s, _ := claims[name].(string); return s }
	if exp.Issuer != "" && exp.Issuer != str("iss") {
		return errors.New("invalid issuer (iss) claim")
	}
	if exp.Subject != "" && exp.Subject != str("sub") {
		return errors.New("invalid subject (sub) claim")
	}
	aud, err := audiences(claims)
	if err != nil {
		return err
	}
	if len(exp.Audiences) > 0 && !slices.ContainsFunc(exp.Audiences, func(a string) bool { return slices.Contains(aud, a) }) {
		return errors.New("invalid audience (aud) claim: audience claim does not match any expected audience")
	}
	iat, err := numericDate(claims, "iat")
	if err != nil {
		return err
	}
	expiry, err := numericDate(claims, "exp")
	if err != nil {
		return err
	}
	nbf, err := numericDate(claims, "nbf")
	if err != nil {
		return err
	}
	if iat == 0 && expiry == 0 && nbf == 0 {
		return errors.New("no issued at (iat), not before (nbf), or expiration time (exp) claims in token")
	}
	if expiry == 0 {
		expiry = max(iat, nbf) + int64(leeway(exp.Expiration, defaultLeeway)/time.Second)
	}
	if nbf == 0 {
		if iat != 0 {
			nbf = iat
		} else {
			nbf = expiry - int64(leeway(exp.NotBefore, defaultLeeway)/time.Second)
		}
	}
	skew := leeway(exp.ClockSkew, defaultClockSkew)
	now := exp.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case now.Add(skew).Before(time.Unix(nbf, 0)):
		return errors.New("invalid not before (nbf) claim: token not yet valid")
	case now.Add(-skew).After(time.Unix(expiry, 0)):
		return errors.New("invalid expiration time (exp) claim: token is expired")
	case iat != 0 && now.Add(skew).Before(time.Unix(iat, 0)):
		return errors.New("invalid issued at (iat) claim: token issued in the future")
	}
	return nil
}

// claim reads a claim by name or, for a name starting with "/", by JSON
// pointer (RFC 6901) into nested objects and arrays. nil when absent.
func claim(claims map[string]any, name string) any {
	if !strings.HasPrefix(name, "/") {
		return claims[name]
	}
	var cur any = claims
	for _, tok := range strings.Split(name[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			var ok bool
			if cur, ok = v[tok]; !ok {
				return nil
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			cur = v[i]
		default:
			return nil
		}
	}
	return cur
}
