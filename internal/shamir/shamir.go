// Package shamir splits a secret into shares so that any threshold of them
// recover it and fewer reveal nothing about it (Shamir's secret sharing over
// GF(2^8)). Tresor uses it to split the unseal key among operators.
//
// Split a 32-byte key into five shares, any three of which recover it:
//
//	shares, err := shamir.Split(key, 5, 3)
//	...
//	key, err = shamir.Combine([][]byte{shares[4], shares[0], shares[2]})
//
// Shares use Vault's format, so shares made by either tool combine in the
// other: each share is one byte per secret byte (the share's value of that
// byte's polynomial) followed by one byte, the share's x-coordinate. A
// 32-byte secret gives 33-byte shares.
//
// Combine cannot tell a wrong share from a right one: given fewer than
// threshold shares, or a share of another secret, it returns a wrong secret
// without error. Callers check the result (Tresor does by unsealing with it,
// which authenticates the key).
package shamir

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
)

// Errors returned by Split for arguments it cannot honour.
var (
	// ErrEmptySecret: the secret has no bytes.
	ErrEmptySecret = errors.New("shamir: secret is empty")
	// ErrParts: parts is outside 1..255 (there are only 255 non-zero
	// x-coordinates).
	ErrParts = errors.New("shamir: parts must be between 1 and 255")
	// ErrThreshold: threshold is outside 1..parts.
	ErrThreshold = errors.New("shamir: threshold must be between 1 and parts")
)

// Errors returned by Combine for share sets it cannot interpolate.
var (
	// ErrNoShares: no shares were given.
	ErrNoShares = errors.New("shamir: no shares given")
	// ErrShareTooShort: a share is shorter than two bytes (one secret byte
	// and the x-coordinate).
	ErrShareTooShort = errors.New("shamir: share too short")
	// ErrShareLength: the shares do not all have the same length.
	ErrShareLength = errors.New("shamir: shares differ in length")
	// ErrDuplicateShare: two shares have the same x-coordinate.
	ErrDuplicateShare = errors.New("shamir: duplicate share")
)

// Split divides secret into parts shares, any threshold of which recover it
// with Combine. The x-coordinates are distinct, random and non-zero; the
// polynomial coefficients come from crypto/rand.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case len(secret) == 0:
		return nil, ErrEmptySecret
	case parts < 1 || parts > 255:
		return nil, fmt.Errorf("split into %d parts: %w", parts, ErrParts)
	case threshold < 1 || threshold > parts:
		return nil, fmt.Errorf("threshold %d of %d parts: %w", threshold, parts, ErrThreshold)
	}

	xs, err := randomXCoordinates(parts)
	if err != nil {
		return nil, err
	}

	// One polynomial of degree threshold-1 per secret byte, its constant
	// term the secret byte, its other coefficients uniformly random.
	random := make([]byte, len(secret)*(threshold-1))
	if _, err := cryptorand.Read(random); err != nil {
		return nil, fmt.Errorf("shamir: read random coefficients: %w", err)
	}
	defer clear(random)
	coefficients := make([]byte, threshold)
	defer clear(coefficients)
	p := polynomial{coefficients: coefficients}

	shares := make([][]byte, parts)
	for i := range shares {
		shares[i] = make([]byte, len(secret)+1)
		shares[i][len(secret)] = xs[i]
	}
	for k, s := range secret {
		coefficients[0] = s
		copy(coefficients[1:], random[k*(threshold-1):])
		for i, x := range xs {
			shares[i][k] = p.evaluate(x)
		}
	}
	return shares, nil
}

// randomXCoordinates returns n distinct values from 1..255 in random order.
// They are not secret; the permutation only needs to be unpredictable
// enough that shares carry no ordering, so a ChaCha8 stream seeded from
// crypto/rand serves.
func randomXCoordinates(n int) ([]byte, error) {
	var seed [32]byte
	if _, err := cryptorand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("shamir: read random seed: %w", err)
	}
	perm := rand.New(rand.NewChaCha8(seed)).Perm(255)
	xs := make([]byte, n)
	for i := range xs {
		xs[i] = byte(perm[i] + 1)
	}
	return xs, nil
}

// Combine recovers the secret from shares made by Split. It needs at least
// threshold shares of the same split, in any order; more do no harm. It
// never panics, whatever it is given. A share with x-coordinate 0 (which
// Split never makes) is accepted: its value bytes are the secret itself.
func Combine(shares [][]byte) ([]byte, error) {
	if len(shares) == 0 {
		return nil, ErrNoShares
	}
	n := len(shares[0])
	if n < 2 {
		return nil, fmt.Errorf("share 1 is %d bytes: %w", n, ErrShareTooShort)
	}
	var seen [256]bool
	xs := make([]byte, len(shares))
	for i, s := range shares {
		if len(s) != n {
			return nil, fmt.Errorf("share %d is %d bytes, share 1 is %d: %w", i+1, len(s), n, ErrShareLength)
		}
		x := s[n-1]
		if seen[x] {
			return nil, fmt.Errorf("share %d repeats x-coordinate %d: %w", i+1, x, ErrDuplicateShare)
		}
		seen[x] = true
		xs[i] = x
	}

	w := lagrangeWeights(xs)
	secret := make([]byte, n-1)
	for k := range secret {
		var b byte
		for i, s := range shares {
			b = add(b, mul(s[k], w[i]))
		}
		secret[k] = b
	}
	return secret, nil
}
