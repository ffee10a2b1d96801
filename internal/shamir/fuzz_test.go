package shamir

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzCombine feeds Combine arbitrary share sets: it must return a secret
// or an error, never panic. The input is cut into shares at 0xFF bytes so
// the fuzzer controls count, lengths and x-coordinates. Combine refuses
// exactly the sets that cannot be interpolated (no share, shares shorter
// than two bytes or of different lengths, a repeated x-coordinate), and what
// it returns is the value at zero of the polynomial through the shares: it
// agrees with a plain Lagrange interpolation over table-based GF(2^8)
// arithmetic written here, whatever the order of the shares.
func FuzzCombine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0xFF, 3, 4})
	f.Add([]byte{1, 2, 0xFF, 3, 2})
	f.Add([]byte{0, 0xFF, 0})
	f.Add([]byte{9, 8, 7, 1, 0xFF, 6, 5, 4, 2, 0xFF, 3, 2, 1})
	f.Add([]byte{0x53, 0xCA, 0x10, 0xFF, 0x8F, 0x01, 0x20, 0xFF, 0x00, 0x7E, 0x30, 0xFF, 0xE1, 0xE1, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		shares := bytes.Split(data, []byte{0xFF})
		secret, err := Combine(shares)
		if valid := interpolable(shares); (err == nil) != valid {
			t.Fatalf("Combine(%x) = %v; the set is interpolable: %v", shares, err, valid)
		}
		if err != nil {
			return
		}
		if want := lagrangeAtZero(shares); !bytes.Equal(secret, want) {
			t.Fatalf("Combine(%x) = %x, interpolation gives %x", shares, secret, want)
		}
		reversed := slices.Clone(shares)
		slices.Reverse(reversed)
		if again, err := Combine(reversed); err != nil || !bytes.Equal(again, secret) {
			t.Fatalf("reversed shares give %x, %v; in order %x", again, err, secret)
		}
	})
}

// interpolable reports whether shares can be combined: at least one, all of
// the same length of two bytes or more, with distinct last bytes.
func interpolable(shares [][]byte) bool {
	if len(shares) == 0 || len(shares[0]) < 2 {
		return false
	}
	seen := map[byte]bool{}
	for _, s := range shares {
		if len(s) != len(shares[0]) || seen[s[len(s)-1]] {
			return false
		}
		seen[s[len(s)-1]] = true
	}
	return true
}

// GF(2^8) with the AES polynomial again, by log and antilog tables over the
// generator 3: a different construction from the package's shift-and-add.
var gfExp, gfLog = func() (exp [510]byte, log [256]byte) {
	x := byte(1)
	for i := 0; i < 255; i++ {
		exp[i], exp[i+255] = x, x
		log[x] = byte(i)
		// x *= 3: x*2 reduced by 0x11B, plus x.
		x2 := x << 1
		if x&0x80 != 0 {
			x2 ^= 0x1B
		}
		x ^= x2
	}
	return exp, log
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

func gfDiv(a, b byte) byte {
	if a == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+255-int(gfLog[b])]
}

// lagrangeAtZero evaluates at zero, byte by byte, the polynomial through
// the points (share's last byte, share's k-th byte).
func lagrangeAtZero(shares [][]byte) []byte {
	n := len(shares[0]) - 1
	out := make([]byte, n)
	for k := 0; k < n; k++ {
		var sum byte
		for i, si := range shares {
			xi := si[n]
			term := si[k]
			for j, sj := range shares {
				if j != i {
					xj := sj[n]
					term = gfMul(term, gfDiv(xj, xj^xi)) // (0 - xj)/(xi - xj) in characteristic 2
				}
			}
			sum ^= term
		}
		out[k] = sum
	}
	return out
}

// FuzzSplitCombine checks that any valid split recovers its secret from the
// first threshold shares and from all of them.
func FuzzSplitCombine(f *testing.F) {
	f.Add([]byte("root key"), uint8(5), uint8(3))
	f.Add([]byte{0}, uint8(1), uint8(1))
	f.Add(bytes.Repeat([]byte{0xAA}, 64), uint8(255), uint8(10))
	f.Fuzz(func(t *testing.T, secret []byte, parts, threshold uint8) {
		shares, err := Split(secret, int(parts), int(threshold))
		if err != nil {
			if len(secret) > 0 && parts > 0 && threshold > 0 && threshold <= parts {
				t.Fatalf("Split(%d bytes, %d, %d): %v", len(secret), parts, threshold, err)
			}
			return
		}
		for _, set := range [][][]byte{shares[:threshold], shares} {
			got, err := Combine(set)
			if err != nil {
				t.Fatalf("Combine(%d shares): %v", len(set), err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("Combine(%d shares) gave a different secret", len(set))
			}
		}
	})
}
