package shamir

// polynomial is a polynomial over GF(2^8); coefficients[0] is its value at
// zero, which is the secret byte it hides.
type polynomial struct {
	coefficients []byte
}

// evaluate returns the polynomial's value at x by Horner's rule.
func (p polynomial) evaluate(x byte) byte {
	var y byte
	for i := len(p.coefficients) - 1; i >= 0; i-- {
		y = add(mul(y, x), p.coefficients[i])
	}
	return y
}

// lagrangeWeights returns, for distinct points xs, the weights w such that
// f(0) = sum w[i]*f(xs[i]) for every polynomial f of degree < len(xs).
// They depend only on the x-coordinates, so Combine computes them once and
// reuses them for every byte of the secret.
func lagrangeWeights(xs []byte) []byte {
	w := make([]byte, len(xs))
	for i := range xs {
		// w_i = prod_{j != i} x_j / (x_j - x_i); subtraction is XOR.
		basis := byte(1)
		for j := range xs {
			if i != j {
				basis = mul(basis, div(xs[j], add(xs[j], xs[i])))
			}
		}
		w[i] = basis
	}
	return w
}
