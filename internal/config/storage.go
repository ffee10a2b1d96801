package config

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/hcl/ast"
)

// storage reads a storage (or legacy backend) stanza. Its attributes are
// the backend's business, so any key is accepted.
func (d *decoder) storage(it *ast.ObjectItem, key string) error {
	blocks, err := d.blocks(it, key)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		here := at(d.name, it.Keys[0].Pos())
		if prev := d.cfg.Storage; prev != nil {
			return fmt.Errorf("%s: %s: %w (first declared at %s)", here, key, ErrDuplicateStorage, prev.at)
		}
		m, err := d.storageConfig(key, b)
		if err != nil {
			return err
		}
		if v, ok := m["disable_clustering"]; ok {
			// Vault reads it from the storage stanza as well as at the
			// top level; either one turns clustering off.
			off, err := asBool(v)
			if err != nil {
				return d.invalid(b.pos, key+".disable_clustering", err)
			}
			d.cfg.DisableClustering = d.cfg.DisableClustering || off
		}
		d.cfg.Storage = &Storage{Type: b.label, Config: m, Path: m["path"], at: here}
	}
	return nil
}

// storageConfig flattens a storage body to strings: strings as written,
// anything else JSON-encoded, the way Vault hands it to backends.
func (d *decoder) storageConfig(key string, b block) (map[string]string, error) {
	m := make(map[string]string, len(b.body.Items))
	seen := make(map[string]bool)
	nested := &ast.ObjectList{} // blocks and lists, encoded together below
	for _, it := range b.body.Items {
		if len(it.Keys) == 0 {
			return nil, fmt.Errorf("%s: %w: item without a key", at(d.name, it.Val.Pos()), ErrSyntax)
		}
		name, err := d.keyName(it.Keys[0])
		if err != nil {
			return nil, err
		}
		_, ok := it.Val.(*ast.LiteralType)
		if !ok || len(it.Keys) != 1 {
			nested.Add(it)
			continue
		}
		path := key + "." + name
		err = d.set(it, path, seen, func(v any) error {
			if s, ok := v.(string); ok {
				m[name] = s
				return nil
			}
			enc, err := json.Marshal(v)
			m[name] = string(enc)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if len(nested.Items) == 0 {
		return m, nil
	}
	obj, err := objectToMap(nested)
	if err != nil {
		return nil, d.invalid(b.pos, key, err)
	}
	for name, v := range obj {
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, d.invalid(b.pos, key+"."+name, err)
		}
		m[name] = string(enc)
	}
	return m, nil
}
