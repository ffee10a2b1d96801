package barrier

import "errors"

// Sentinel errors. Match them with errors.Is; the returned errors wrap them
// with the storage key involved, never with any stored content.
var (
	// ErrSealed: the barrier holds no keys. Every Store method, Rotate and
	// KeyStatus return it until Unseal succeeds.
	ErrSealed = errors.New("barrier: sealed")
	// ErrNotInitialized: Unseal found no keyring in the underlying store.
	ErrNotInitialized = errors.New("barrier: not initialized")
	// ErrAlreadyInitialized: Initialize found a keyring already there.
	ErrAlreadyInitialized = errors.New("barrier: already initialized")
	// ErrBadRootKey: the root key is not 32 bytes, or (Unseal) it does not
	// decrypt the stored keyring — it is the wrong key or the keyring was
	// tampered with; the two cannot be told apart.
	ErrBadRootKey = errors.New("barrier: bad root key")
	// ErrDecrypt: a stored value failed authentication or is malformed
	// (truncated, altered, copied from another key, or written under a term
	// this keyring does not hold). Its plaintext is never returned.
	ErrDecrypt = errors.New("barrier: cannot decrypt stored value")
	// ErrReservedKey: the key lies under "barrier/", where the barrier keeps
	// its own keyring; it cannot be read or written through the barrier.
	ErrReservedKey = errors.New("barrier: key is reserved")
)
