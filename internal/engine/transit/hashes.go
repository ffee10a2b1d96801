package transit

import (
	"crypto"
	_ "crypto/sha1" // registers SHA-1 for signatures
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"

	"github.com/tresorhq/tresor/internal/logical"
)

// hashes maps Vault's algorithm names to hash functions.
var hashes = map[string]crypto.Hash{
	"sha1":     crypto.SHA1,
	"sha2-224": crypto.SHA224,
	"sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384,
	"sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224,
	"sha3-256": crypto.SHA3_256,
	"sha3-384": crypto.SHA3_384,
	"sha3-512": crypto.SHA3_512,
}

// hashByName resolves an algorithm name; sha1 only where allowSHA1 (it is
// accepted for signatures but not for hash/ and hmac/).
func hashByName(name string, allowSHA1 bool) (crypto.Hash, error) {
	h, ok := hashes[name]
	if !ok || (h == crypto.SHA1 && !allowSHA1) {
		return 0, logical.InvalidRequest("unsupported algorithm %s", name)
	}
	return h, nil
}
