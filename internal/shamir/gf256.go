package shamir

// Arithmetic in GF(2^8) with the AES reduction polynomial
// x^8 + x^4 + x^3 + x + 1 (0x11B), the field Vault's shares live in.
//
// Every operation runs in time independent of its operands: no branches on
// and no table lookups indexed by secret bytes, so share values and secret
// bytes cannot leak through timing or cache behaviour.

// add is addition (and subtraction) in GF(2^8).
func add(a, b byte) byte { return a ^ b }

// mul multiplies a and b by shift-and-add, reducing as it goes.
func mul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= -(b & 1) & a  // add a when the low bit of b is set
		carry := -(a >> 7) // 0xFF when a overflows on the shift
		a = a<<1 ^ carry&0x1B
		b >>= 1
	}
	return p
}

// inv returns the multiplicative inverse of a as a^254 (Fermat: a^255 = 1).
// The exponent is fixed, so the sequence of operations is too. inv(0) is 0,
// which callers never rely on.
func inv(a byte) byte {
	// 254 = 2+4+8+16+32+64+128: multiply together a^2, a^4, ..., a^128.
	sq := mul(a, a)
	r := sq
	for range 6 {
		sq = mul(sq, sq)
		r = mul(r, sq)
	}
	return r
}

// div returns a / b; b must be non-zero.
func div(a, b byte) byte { return mul(a, inv(b)) }
