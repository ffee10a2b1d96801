package shamir

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

func randomSecret(t testing.TB, n int) []byte {
	t.Helper()
	s := make([]byte, n)
	if _, err := rand.Read(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// pick returns k of shares chosen at random, in random order.
func pick(r *mrand.Rand, shares [][]byte, k int) [][]byte {
	idx := r.Perm(len(shares))[:k]
	out := make([][]byte, k)
	for i, j := range idx {
		out[i] = shares[j]
	}
	return out
}

func TestSplitCombineRoundTrip(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for threshold := 1; threshold <= 10; threshold++ {
		for _, parts := range []int{threshold, threshold + 1, threshold + 4, 2*threshold + 3} {
			secret := randomSecret(t, 32)
			shares, err := Split(secret, parts, threshold)
			if err != nil {
				t.Fatalf("Split(%d, %d): %v", parts, threshold, err)
			}
			if len(shares) != parts {
				t.Fatalf("Split(%d, %d) gave %d shares", parts, threshold, len(shares))
			}
			for k := threshold; k <= parts; k++ {
				for range 3 {
					got, err := Combine(pick(r, shares, k))
					if err != nil {
						t.Fatalf("t=%d n=%d k=%d: Combine: %v", threshold, parts, k, err)
					}
					if !bytes.Equal(got, secret) {
						t.Fatalf("t=%d n=%d k=%d: Combine gave a different secret", threshold, parts, k)
					}
				}
			}
		}
	}
}

func TestSplitShareFormat(t *testing.T) {
	secret := randomSecret(t, 32)
	shares, err := Split(secret, 255, 3)
	if err != nil {
		t.Fatal(err)
	}
	var seen [256]bool
	for i, s := range shares {
		if len(s) != 33 {
			t.Fatalf("share %d is %d bytes, want 33", i, len(s))
		}
		x := s[32]
		if x == 0 {
			t.Fatalf("share %d has x-coordinate 0", i)
		}
		if seen[x] {
			t.Fatalf("share %d repeats x-coordinate %d", i, x)
		}
		seen[x] = true
	}
}

func TestSplitDoesNotLeakSecret(t *testing.T) {
	// With threshold >= 2 no share may equal the secret's bytes (it would
	// with probability 2^-256 by chance); with threshold 1 every share must.
	secret := randomSecret(t, 32)
	shares, err := Split(secret, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shares {
		if bytes.Equal(s[:32], secret) {
			t.Errorf("share %d carries the secret in clear", i)
		}
	}
	shares, err = Split(secret, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shares {
		if !bytes.Equal(s[:32], secret) {
			t.Errorf("threshold 1: share %d is not the secret", i)
		}
	}
}

func TestCombineBelowThreshold(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for threshold := 2; threshold <= 10; threshold++ {
		secret := randomSecret(t, 32)
		shares, err := Split(secret, threshold+2, threshold)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Combine(pick(r, shares, threshold-1))
		if err != nil {
			t.Fatalf("t=%d: Combine: %v", threshold, err)
		}
		if bytes.Equal(got, secret) {
			t.Errorf("t=%d: %d shares recovered the secret", threshold, threshold-1)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	secret := []byte("secret")
	tests := map[string]struct {
		secret           []byte
		parts, threshold int
		want             error
	}{
		"empty secret":          {nil, 3, 2, ErrEmptySecret},
		"zero parts":            {secret, 0, 1, ErrParts},
		"256 parts":             {secret, 256, 2, ErrParts},
		"negative parts":        {secret, -1, 1, ErrParts},
		"zero threshold":        {secret, 3, 0, ErrThreshold},
		"threshold above parts": {secret, 3, 4, ErrThreshold},
		"negative threshold":    {secret, 3, -2, ErrThreshold},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			shares, err := Split(tc.secret, tc.parts, tc.threshold)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Split error = %v, want %v", err, tc.want)
			}
			if shares != nil {
				t.Errorf("Split returned shares with an error")
			}
		})
	}
}

func TestSplitLimits(t *testing.T) {
	tests := map[string]struct{ parts, threshold int }{
		"1 of 1":     {1, 1},
		"255 of 255": {255, 255},
		"2 of 255":   {255, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secret := randomSecret(t, 16)
			shares, err := Split(secret, tc.parts, tc.threshold)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Combine(shares[:tc.threshold])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, secret) {
				t.Errorf("Combine gave a different secret")
			}
		})
	}
}

func TestCombineErrors(t *testing.T) {
	shares, err := Split([]byte("0123456789abcdef"), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		shares [][]byte
		want   error
	}{
		"nil":                  {nil, ErrNoShares},
		"empty":                {[][]byte{}, ErrNoShares},
		"empty share":          {[][]byte{{}}, ErrShareTooShort},
		"one-byte share":       {[][]byte{{7}, {8}}, ErrShareTooShort},
		"nil share":            {[][]byte{nil, shares[0]}, ErrShareTooShort},
		"shorter second share": {[][]byte{shares[0], shares[1][1:]}, ErrShareLength},
		"longer second share":  {[][]byte{shares[0], append([]byte{0}, shares[1]...)}, ErrShareLength},
		"same share twice":     {[][]byte{shares[0], shares[1], shares[0]}, ErrDuplicateShare},
		"same x, other values": {[][]byte{{1, 2, 9}, {3, 4, 9}}, ErrDuplicateShare},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secret, err := Combine(tc.shares)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Combine error = %v, want %v", err, tc.want)
			}
			if secret != nil {
				t.Errorf("Combine returned a secret with an error")
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	secret := randomSecret(b, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(secret, 5, 3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCombine(b *testing.B) {
	shares, err := Split(randomSecret(b, 32), 5, 3)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Combine(shares[:3]); err != nil {
			b.Fatal(err)
		}
	}
}
