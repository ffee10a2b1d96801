// Package transit is Vault's transit secrets engine: encryption as a
// service. Named keys live in the mount's storage (inside the barrier) and
// never leave it unless marked exportable; clients send data to be
// encrypted, decrypted, signed, verified or HMAC'd.
//
// Endpoints, relative to the mount, are Vault's:
//
//	keys/<name>                  create (type, derived, convergent_encryption, exportable,
//	                             allow_plaintext_backup, auto_rotate_period, key_size), read, delete
//	keys                         list
//	keys/<name>/config|rotate|trim
//	encrypt|decrypt|rewrap/<name> single or batch_input, per-item errors
//	datakey/plaintext|wrapped/<name>
//	sign|verify/<name>[/<hash>]  hash_algorithm, signature_algorithm, marshaling_algorithm, batch
//	hmac/<name>[/<algorithm>]    and verify/<name> with "hmac"
//	hash[/<algorithm>], random[/<source>][/<bytes>]
//	export/<type>/<name>[/<version>], backup/<name>, restore[/<name>]
//	cache-config, config/keys
//
// Ciphertexts are "vault:v<version>:<base64>", exactly as Vault writes
// them: for AES-GCM and ChaCha20-Poly1305 the base64 holds the 12-byte
// nonce, then the sealed data and its tag; for RSA it is the OAEP
// (SHA-256) ciphertext. Derived keys are HKDF-SHA256 of the version's key
// with the context as info; convergent keys take their nonce from an
// HMAC-SHA256 of the plaintext under the derived key.
//
// # The key cache
//
// A loaded key is an immutable value published through an atomic
// pointer, so encryption takes no lock and reads no storage. Changes
// (rotate, config, trim, delete, restore) clone the key under that key's
// own mutex, store the clone, then publish it. RSA key generation runs
// before the mutex is taken.
package transit
