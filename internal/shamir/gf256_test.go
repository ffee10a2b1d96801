package shamir

import "testing"

// slowMul is a reference multiply: carry-less product, then reduction by
// 0x11B, written differently from mul so the two check each other.
func slowMul(a, b byte) byte {
	var p uint16
	for i := range 8 {
		if b&(1<<i) != 0 {
			p ^= uint16(a) << i
		}
	}
	for i := 15; i >= 8; i-- {
		if p&(1<<i) != 0 {
			p ^= 0x11B << (i - 8)
		}
	}
	return byte(p)
}

func TestMulKnownValues(t *testing.T) {
	// Worked examples from FIPS-197 §4.2 pin the AES field, which is the
	// field Vault's shares use.
	tests := map[string]struct{ a, b, want byte }{
		"fips197 57*83": {0x57, 0x83, 0xC1},
		"fips197 57*13": {0x57, 0x13, 0xFE},
		"by zero":       {0xAB, 0x00, 0x00},
		"by one":        {0xAB, 0x01, 0xAB},
		"x times 0x80":  {0x02, 0x80, 0x1B},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := mul(tc.a, tc.b); got != tc.want {
				t.Errorf("mul(%#x, %#x) = %#x, want %#x", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestMulMatchesReference(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			if got, want := mul(byte(a), byte(b)), slowMul(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
	}
}

func TestInverse(t *testing.T) {
	if got := inv(0); got != 0 {
		t.Errorf("inv(0) = %#x, want 0", got)
	}
	for a := 1; a < 256; a++ {
		if got := mul(byte(a), inv(byte(a))); got != 1 {
			t.Fatalf("a * inv(a) = %#x for a = %#x, want 1", got, a)
		}
		if got := div(byte(a), byte(a)); got != 1 {
			t.Fatalf("div(a, a) = %#x for a = %#x, want 1", got, a)
		}
	}
}
