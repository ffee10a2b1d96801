package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// Seal is one seal "TYPE" { ... } stanza: how the root key is protected.
// Without one the server uses Shamir's key shares. Two stanzas, one of
// them disabled, migrate from the disabled one to the other (or to
// Shamir's when only a disabled one is left), as in Vault.
type Seal struct {
	// Type is the block label: "static" or "transit" (or "shamir").
	Type string
	// Disabled is disabled = "true": the seal the data is migrated away
	// from.
	Disabled bool
	// Config holds every other attribute as written (strings), for the
	// seal to interpret: static's current_key_id, current_key,
	// previous_key_id, previous_key; transit's address, token, key_name,
	// mount_path, namespace, tls_ca_cert, tls_skip_verify,
	// disable_renewal.
	Config map[string]string

	at string
}

// sealTypes are the seal types Tresor offers; Vault's cloud KMS and HSM
// seals are refused by name.
var sealTypes = map[string]bool{"static": true, "transit": true, "shamir": true}

// seals reads a seal stanza.
func (d *decoder) seals(it *ast.ObjectItem, key string) error {
	blocks, err := d.blocks(it, key)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		typ := strings.ToLower(b.label)
		if !sealTypes[typ] {
			return fmt.Errorf("%s: seal %q: %w; use \"static\" or \"transit\"", at(d.name, b.pos), b.label, ErrUnsupported)
		}
		m, err := d.storageConfig(key, b)
		if err != nil {
			return err
		}
		s := Seal{Type: typ, Config: m, at: at(d.name, b.pos)}
		if v, ok := m["disabled"]; ok {
			if s.Disabled, err = strconv.ParseBool(v); err != nil {
				return d.invalid(b.pos, "seal.disabled", errors.New(`want "true" or "false"`))
			}
			delete(m, "disabled")
		}
		d.cfg.Seals = append(d.cfg.Seals, s)
	}
	return nil
}

// validateSeals allows at most one enabled and one disabled seal.
func validateSeals(seals []Seal) error {
	var on, off int
	for _, s := range seals {
		if s.Disabled {
			off++
		} else {
			on++
		}
	}
	if on > 1 || off > 1 {
		return fmt.Errorf("%sseal: %w: at most one enabled seal and one disabled seal (for migration)", prefix(firstAt(seals)), ErrInvalidValue)
	}
	return nil
}

func firstAt(seals []Seal) string {
	if len(seals) == 0 {
		return ""
	}
	return seals[0].at
}

// ActiveSeal returns the enabled seal, if any.
func (c *Config) ActiveSeal() *Seal {
	for i := range c.Seals {
		if !c.Seals[i].Disabled {
			return &c.Seals[i]
		}
	}
	return nil
}

// DisabledSeal returns the seal being migrated away from, if any.
func (c *Config) DisabledSeal() *Seal {
	for i := range c.Seals {
		if c.Seals[i].Disabled {
			return &c.Seals[i]
		}
	}
	return nil
}
