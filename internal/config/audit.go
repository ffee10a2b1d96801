package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// AuditDevice is one declarative audit "TYPE" "PATH" { ... } stanza, in
// OpenBao's format: a device for the server to enable at startup, as if by
// a sys/audit request with the same fields.
type AuditDevice struct {
	// Type is the first label: "file", "socket", "syslog", ... The server
	// decides which types it offers.
	Type string
	// Path is the second label, ending in "/" as sys/audit lists it.
	Path string
	// Description is free text shown by sys/audit.
	Description string
	// Local marks the device as local to this node (not replicated).
	Local bool
	// Options are the device's settings, a string map as in the sys/audit
	// API: strings as written, numbers and booleans in their string form.
	// Never nil.
	Options map[string]string

	at string // file:line:col of the path label, for duplicate messages
}

// auditForm shows the expected shape in error messages.
const auditForm = `audit "TYPE" "PATH" { ... }`

// auditKeys maps each setting of an audit stanza, apart from options, to
// the code storing it.
var auditKeys = map[string]func(a *AuditDevice, v any) error{
	"description": func(a *AuditDevice, v any) (err error) { a.Description, err = asString(v); return err },
	"local":       func(a *AuditDevice, v any) (err error) { a.Local, err = asBool(v); return err },
}

// audits reads an audit stanza, which may declare several devices: HCL
// nests type and path labels, JSON nests objects keyed by type then path.
func (d *decoder) audits(it *ast.ObjectItem, key string) error {
	types, err := d.blocks(it, key)
	if err != nil {
		return err
	}
	for _, t := range types {
		if t.label == "" {
			return d.invalid(t.pos, key, errors.New("empty type label"))
		}
		// An empty body, or one holding attributes, means the path label
		// was left out: audit "file" { description = "..." }.
		if len(t.body.Items) == 0 {
			return d.invalid(t.pos, key, errors.New("missing the path label, as in "+auditForm))
		}
		for _, p := range t.body.Items {
			a, err := d.auditDevice(key, t, p)
			if err != nil {
				return err
			}
			for _, prev := range d.cfg.Audit {
				if prev.Path == a.Path {
					return fmt.Errorf("%s: %s: %w (first declared at %s)", a.at, key, ErrDuplicateAuditPath, prev.at)
				}
			}
			d.cfg.Audit = append(d.cfg.Audit, a)
		}
	}
	return nil
}

// auditDevice reads one "PATH" { ... } item of a type's block.
func (d *decoder) auditDevice(key string, t block, p *ast.ObjectItem) (AuditDevice, error) {
	body, isObj := p.Val.(*ast.ObjectType)
	if len(p.Keys) == 0 || !isObj {
		return AuditDevice{}, d.invalid(t.pos, key, errors.New("missing the path label, as in "+auditForm))
	}
	if len(p.Keys) > 1 {
		return AuditDevice{}, d.invalid(p.Keys[1].Pos(), key, errors.New("too many labels, want two as in "+auditForm))
	}
	path, err := d.keyName(p.Keys[0])
	if err != nil {
		return AuditDevice{}, err
	}
	if path == "" || path == "/" {
		return AuditDevice{}, d.invalid(p.Keys[0].Pos(), key, errors.New("empty path label"))
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	a := AuditDevice{Type: t.label, Path: path, Options: map[string]string{}, at: at(d.name, p.Keys[0].Pos())}
	err = d.attributes(body.List, "audit", func(it *ast.ObjectItem, name string, seen map[string]bool) error {
		lk := strings.ToLower(name)
		switch {
		case lk == "options":
			return d.auditOptions(it, name, &a, seen)
		case auditKeys[lk] != nil:
			return d.set(it, name, seen, func(v any) error { return auditKeys[lk](&a, v) })
		}
		return fmt.Errorf("%s: %w %q in audit", at(d.name, it.Keys[0].Pos()), ErrUnknownKey, name)
	})
	if err != nil {
		return AuditDevice{}, err
	}
	return a, nil
}

// auditOptions reads options { ... }. A repeated options block replaces the
// earlier one, with a warning, as a repeated attribute does.
func (d *decoder) auditOptions(it *ast.ObjectItem, key string, a *AuditDevice, seen map[string]bool) error {
	pos := it.Keys[0].Pos()
	lk := strings.ToLower(key)
	if seen[lk] {
		d.warn(pos, "%q is set more than once; the last value wins", key)
	}
	seen[lk] = true
	obj, ok := it.Val.(*ast.ObjectType)
	if len(it.Keys) != 1 || !ok {
		return d.invalid(pos, key, errors.New("want a map of option names to values, as in options { file_path = \"...\" }"))
	}
	opts := make(map[string]string, len(obj.List.Items))
	err := d.attributes(obj.List, "audit options", func(it *ast.ObjectItem, name string, seen map[string]bool) error {
		return d.set(it, key+"."+name, seen, func(v any) (err error) {
			opts[name], err = optionString(v)
			return err
		})
	})
	if err != nil {
		return err
	}
	a.Options = opts
	return nil
}

// optionString renders a scalar the way Vault's string-map options expect.
func optionString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", errors.New("want a string, number or boolean")
}
