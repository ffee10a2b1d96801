package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// decoder applies files, one after another, to a single Config; applying a
// later file over an earlier one is exactly Vault's merge.
type decoder struct {
	cfg  *Config
	name string // of the file being read
}

// topLevel maps each implemented top-level setting to the code storing it.
var topLevel = map[string]func(c *Config, v any) error{
	"api_addr":      func(c *Config, v any) (err error) { c.APIAddr, err = asString(v); return err },
	"cluster_addr":  func(c *Config, v any) (err error) { c.ClusterAddr, err = asString(v); return err },
	"cluster_name":  func(c *Config, v any) (err error) { c.ClusterName, err = asString(v); return err },
	"pid_file":      func(c *Config, v any) (err error) { c.PidFile, err = asString(v); return err },
	"disable_mlock": func(c *Config, v any) (err error) { c.DisableMlock, err = asBool(v); return err },
	"disable_performance_standby": func(c *Config, v any) (err error) {
		c.DisableStandbyReads, err = asBool(v)
		return err
	},
	"disable_clustering": func(c *Config, v any) error {
		b, err := asBool(v)
		c.DisableClustering = c.DisableClustering || b
		return err
	},
	"ui":                func(c *Config, v any) (err error) { c.UI, err = asBool(v); return err },
	"default_lease_ttl": func(c *Config, v any) (err error) { c.DefaultLeaseTTL, err = asDuration(v); return err },
	"max_lease_ttl":     func(c *Config, v any) (err error) { c.MaxLeaseTTL, err = asDuration(v); return err },
	"log_level":         func(c *Config, v any) (err error) { c.LogLevel, err = asLogLevel(v); return err },
	"log_format":        func(c *Config, v any) (err error) { c.LogFormat, err = asLogFormat(v); return err },
}

// file parses src and applies it.
func (d *decoder) file(name string, src []byte) error {
	d.name = name
	list, err := parseSource(name, src)
	if err != nil {
		return err
	}
	seen := make(map[string]bool)
	declared := make(map[string]bool) // blocks allowed once per file
	for _, it := range list.Items {
		if len(it.Keys) == 0 {
			return fmt.Errorf("%s: %w: item without a key", at(name, it.Val.Pos()), ErrSyntax)
		}
		key, err := d.keyName(it.Keys[0])
		if err != nil {
			return err
		}
		switch lk := strings.ToLower(key); {
		case lk == "storage" || lk == "backend":
			err = d.storage(it, key)
		case lk == "listener":
			err = d.listeners(it)
		case lk == "telemetry":
			err = d.telemetry(it, key, declared)
		case lk == "audit":
			err = d.audits(it, key)
		case lk == "seal":
			err = d.seals(it, key)
		case lk == "backup":
			err = d.backups(it, key)
		case topLevel[lk] != nil:
			err = d.set(it, key, seen, func(v any) error { return topLevel[lk](d.cfg, v) })
		case unsupportedTopLevel[lk]:
			d.warn(it.Keys[0].Pos(), "%q is not supported yet and is ignored", key)
		default:
			err = fmt.Errorf("%s: %w %q", at(name, it.Keys[0].Pos()), ErrUnknownKey, key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// set reads the single value of an attribute item and hands it to store,
// positioning any error. seen tracks the keys of the enclosing object, to
// warn about repeats as Vault does.
func (d *decoder) set(it *ast.ObjectItem, key string, seen map[string]bool, store func(any) error) error {
	pos := it.Keys[0].Pos()
	lk := strings.ToLower(key)
	if seen[lk] {
		d.warn(pos, "%q is set more than once; the last value wins", key)
	}
	seen[lk] = true
	lit, ok := it.Val.(*ast.LiteralType)
	if len(it.Keys) != 1 || !ok {
		return d.invalid(pos, key, errors.New("want a single value, not a block or list"))
	}
	v, err := literal(lit.Token)
	if err == nil {
		err = store(v)
	}
	if err != nil {
		return d.invalid(pos, key, err)
	}
	return nil
}

// block is one labeled stanza such as listener "tcp" { ... }, however it
// was spelled.
type block struct {
	label string
	pos   token.Pos // of the label
	body  *ast.ObjectList
}

// blocks returns the labeled stanzas an item declares. HCL writes them as
// listener "tcp" {...} or listener { tcp {...} }; JSON as
// {"listener": {"tcp": {...}}} or {"listener": [{"tcp": {...}}, ...]}.
func (d *decoder) blocks(it *ast.ObjectItem, key string) ([]block, error) {
	return d.expand(it.Keys[0].Pos(), key, it.Keys[1:], it.Val)
}

// expand is blocks for the keys following the stanza name and their value.
func (d *decoder) expand(pos token.Pos, key string, keys []*ast.ObjectKey, val ast.Node) ([]block, error) {
	if len(keys) > 0 {
		label, err := d.keyName(keys[0])
		if err != nil {
			return nil, err
		}
		b := block{label: label, pos: keys[0].Pos()}
		if len(keys) > 1 {
			// listener "tcp" "x" {...}: the remaining keys name a nested
			// item of the body.
			b.body = &ast.ObjectList{Items: []*ast.ObjectItem{{Keys: keys[1:], Val: val}}}
		} else if obj, ok := val.(*ast.ObjectType); ok {
			b.body = obj.List
		} else {
			return nil, d.invalid(pos, key, fmt.Errorf("want a block, as in %s %q { ... }", key, label))
		}
		return []block{b}, nil
	}
	var out []block
	switch v := val.(type) {
	case *ast.ObjectType:
		for _, sub := range v.List.Items {
			_, isObj := sub.Val.(*ast.ObjectType)
			if len(sub.Keys) == 0 || (len(sub.Keys) == 1 && !isObj) {
				return nil, d.invalid(pos, key, errors.New("missing the type label, as in "+blockForm(key)))
			}
			bs, err := d.expand(pos, key, sub.Keys, sub.Val)
			if err != nil {
				return nil, err
			}
			out = append(out, bs...)
		}
	case *ast.ListType:
		for _, elem := range v.List {
			bs, err := d.expand(pos, key, nil, elem)
			if err != nil {
				return nil, err
			}
			out = append(out, bs...)
		}
	}
	if len(out) == 0 {
		return nil, d.invalid(pos, key, errors.New("missing the type label, as in "+blockForm(key)))
	}
	return out, nil
}

// blockForm shows the shape of a labeled stanza in error messages.
func blockForm(key string) string {
	if strings.EqualFold(key, "audit") {
		return auditForm
	}
	return key + ` "TYPE" { ... }`
}

// keyName returns the text of a key, unquoted.
func (d *decoder) keyName(k *ast.ObjectKey) (string, error) {
	s, err := literalKey(k)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", at(d.name, k.Pos()), ErrSyntax, err)
	}
	return s, nil
}

// invalid positions a bad-value error. reason must never quote the value.
func (d *decoder) invalid(pos token.Pos, key string, reason error) error {
	return fmt.Errorf("%s: %s: %w: %w", at(d.name, pos), key, ErrInvalidValue, reason)
}

// warn records a positioned warning.
func (d *decoder) warn(pos token.Pos, format string, args ...any) {
	d.cfg.Warnings = append(d.cfg.Warnings, at(d.name, pos)+": "+fmt.Sprintf(format, args...))
}

// at formats a position as file:line:col, or just the file name when the
// position is unknown.
func at(name string, pos token.Pos) string {
	if pos.Line <= 0 {
		return name
	}
	return fmt.Sprintf("%s:%d:%d", name, pos.Line, pos.Column)
}
