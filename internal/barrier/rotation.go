package barrier

import (
	"fmt"
	"time"
)

// Bounds of the rotation settings, as Vault has them: NIST SP 800-38D
// allows at most 2^32 AES-GCM encryptions under one key with random
// nonces, and Vault rotates just before.
const (
	MaxRotationOperations = int64(3_865_470_566)
	MinRotationOperations = int64(1_000_000)
	MinRotationInterval   = 24 * time.Hour
)

// RotationConfig is when the barrier's key is rotated automatically.
type RotationConfig struct {
	// MaxOperations is the number of encryptions after which the key is
	// rotated.
	MaxOperations int64 `json:"max_operations"`
	// Interval, if set, is the age of the active key at which it is
	// rotated.
	Interval time.Duration `json:"interval"`
	// Disabled stops automatic rotations; encryptions are still counted.
	Disabled bool `json:"disabled"`
}

// Validate checks the settings against Vault's bounds.
func (r RotationConfig) Validate() error {
	if r.MaxOperations < MinRotationOperations || r.MaxOperations > MaxRotationOperations {
		return fmt.Errorf("max_operations must be in the range [%d,%d]", MinRotationOperations, MaxRotationOperations)
	}
	if r.Interval != 0 && r.Interval < MinRotationInterval {
		return fmt.Errorf("interval must be greater or equal to %s", MinRotationInterval)
	}
	return nil
}

// Due reports whether the active key described by ki must be rotated at
// now under r.
func (r RotationConfig) Due(ki KeyInfo, now time.Time) bool {
	if r.Disabled {
		return false
	}
	if ki.Encryptions >= uint64(r.MaxOperations) {
		return true
	}
	return r.Interval > 0 && !now.Before(ki.InstallTime.Add(r.Interval))
}
