package barrier

import (
	"fmt"
)

// Verify checks that value, as found under key in the underlying store
// (in a backup, say), authenticates under the current keyring: the keyring
// entry itself under the root key, every other value under the term it
// names. The plaintext is discarded, never returned. It fails with
// ErrSealed while sealed and with an error wrapping ErrDecrypt when the
// value was altered, truncated, moved to another key, or written under a
// term this keyring does not know (another cluster's keys).
//
// Values the barrier did not write (the seal's own entries) do not verify;
// the caller decides which keys are the barrier's.
func (b *Barrier) Verify(key string, value []byte) error {
	ring, err := b.keys()
	if err != nil {
		return err
	}
	var plaintext []byte
	if key == keyringKey {
		n, err := termOf(key, value)
		if err != nil {
			return err
		}
		if n != rootTerm {
			return fmt.Errorf("decrypt %q: keyring under term %d, not the root key: %w", key, n, ErrDecrypt)
		}
		plaintext, err = decrypt(ring.root, key, value)
		clear(plaintext)
		return err
	}
	plaintext, err = ring.open(key, value)
	clear(plaintext)
	return err
}
