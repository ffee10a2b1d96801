package token

import "crypto/rand"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID returns n base62 characters from crypto/rand (n=24 gives about
// 142 bits), without modulo bias.
func randomID(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if b < 248 { // 248 = 4*62: keep the distribution uniform
				out = append(out, idAlphabet[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}
