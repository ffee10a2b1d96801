package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
)

// Defaults of a backup "local" stanza.
const (
	DefaultBackupInterval = 24 * time.Hour
	DefaultBackupRetain   = 7
)

// ErrDuplicateBackup is returned when two files, or one, declare a
// backup "local" stanza twice.
var ErrDuplicateBackup = errors.New("backup declared more than once")

// Backup is the backup "local" { ... } stanza: scheduled, verified
// backups of the storage into a local directory.
type Backup struct {
	// Type is the label; only "local" is offered.
	Type string
	// Path is the directory the backup files go to (created 0700).
	Path string
	// Interval is the time between two backups; DefaultBackupInterval
	// when unset.
	Interval time.Duration
	// Retain is how many backups are kept; older ones are deleted.
	// DefaultBackupRetain when unset.
	Retain int

	at string // file:line:col of the block
}

var backupKeys = map[string]func(b *Backup, v any) error{
	"path":     func(b *Backup, v any) (err error) { b.Path, err = asString(v); return err },
	"interval": func(b *Backup, v any) (err error) { b.Interval, err = asDuration(v); return err },
	"retain": func(b *Backup, v any) error {
		n, err := asInt(v)
		if err == nil && (n < 1 || n > 10000) {
			err = errors.New("want a count between 1 and 10000")
		}
		b.Retain = int(n)
		return err
	},
}

// backups reads backup "local" { ... }.
func (d *decoder) backups(it *ast.ObjectItem, key string) error {
	blocks, err := d.blocks(it, key)
	if err != nil {
		return err
	}
	for _, bl := range blocks {
		here := at(d.name, bl.pos)
		if bl.label != "local" {
			return d.invalid(bl.pos, key, fmt.Errorf("backup type %q is not supported (supported: local)", bl.label))
		}
		if prev := d.cfg.Backup; prev != nil {
			return fmt.Errorf("%s: %s: %w (first declared at %s)", here, key, ErrDuplicateBackup, prev.at)
		}
		b := &Backup{Type: bl.label, Interval: DefaultBackupInterval, Retain: DefaultBackupRetain, at: here}
		err := d.attributes(bl.body, "backup", func(it *ast.ObjectItem, name string, seen map[string]bool) error {
			lk := strings.ToLower(name)
			if f := backupKeys[lk]; f != nil {
				return d.set(it, name, seen, func(v any) error { return f(b, v) })
			}
			return fmt.Errorf("%s: %w %q in backup", at(d.name, it.Keys[0].Pos()), ErrUnknownKey, name)
		})
		if err != nil {
			return err
		}
		if b.Path == "" {
			return d.invalid(bl.pos, key, errors.New(`path is required, as in backup "local" { path = "/var/backups/tresor" }`))
		}
		if b.Interval <= 0 {
			return d.invalid(bl.pos, key, errors.New("interval must be positive"))
		}
		d.cfg.Backup = b
	}
	return nil
}
