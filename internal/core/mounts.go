package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// mountsKey holds the mount table (secrets engines and auth methods alike;
// auth methods live below "auth/").
const mountsKey = "core/mounts"

// Types of the mounts the core itself provides.
const (
	typeSystem    = "system"
	typeToken     = "token"
	typeCubbyhole = "cubbyhole"
)

// reserved are path prefixes no user mount may take or overlap.
var reserved = []string{"sys/", "auth/token/", "cubbyhole/", "identity/"}

// setupMounts loads the mount table (creating the default one on first
// unseal) and builds each mount's backend through attach: c.attach on the
// active node, attachReplica for a standby's replica. Called with state
// held for writing.
func (c *Core) setupMounts(ctx context.Context, attach func(context.Context, *mount.Entry) error) error {
	entries, err := mount.Load(ctx, c.barrier, mountsKey)
	if err != nil {
		return err
	}
	first := entries == nil
	// A table from before the identity store gets its mount.
	save := first || len(identityMount(entries)) > len(entries)
	entries = identityMount(entries)
	if first {
		entries = []*mount.Entry{
			{Path: "sys/", Type: typeSystem, Description: "system endpoints used for control, policy and debugging", Builtin: true},
			{Path: "auth/token/", Type: typeToken, Description: "token based credentials", Builtin: true},
			{Path: "identity/", Type: typeIdentity, Description: "identity store", Builtin: true},
		}
		if c.cfg.Backends[typeCubbyhole] != nil {
			entries = append(entries, &mount.Entry{Path: "cubbyhole/", Type: typeCubbyhole, Description: "per-token private secret storage", Builtin: true})
		}
		// Vault 0.x servers came with a generic secret/ mount, and old
		// tutorials write there at once; today's create it themselves,
		// which replaces this one while it is empty.
		if c.cfg.Backends["kv"] != nil {
			entries = append(entries, &mount.Entry{Path: "secret/", Type: "kv", Description: "key/value secret storage",
				Options: map[string]string{"version": "1"}, Default: true})
		}
	}
	c.mounts = new(mount.Table)
	for _, e := range entries {
		// As in Vault: sys/ is seal-wrapped, and a cubbyhole is per
		// token, so never replicated.
		switch e.Type {
		case typeSystem:
			e.SealWrap = true
		case typeCubbyhole:
			e.Local = true
		}
		if e.StoragePrefix == "" {
			e.StoragePrefix = storagePrefix(e)
		}
		if err := attach(ctx, e); err != nil {
			return fmt.Errorf("mount %s (%s): %w", e.Path, e.Type, err)
		}
		if err := c.mounts.Add(e); err != nil {
			return err
		}
	}
	if save {
		return c.mounts.Save(ctx, c.barrier, mountsKey)
	}
	return nil
}

// storagePrefix is where a new mount's private storage starts.
func storagePrefix(e *mount.Entry) string {
	switch {
	case e.Type == typeSystem:
		return "sys/system/"
	case e.Type == typeToken:
		return tokenPrefix
	case e.Type == typeIdentity:
		return identityPrefix
	case strings.HasPrefix(e.Path, "auth/"):
		return "auth/" + e.UUID + "/"
	}
	return "logical/" + e.UUID + "/"
}

// attach builds e's backend and storage view.
func (c *Core) attach(ctx context.Context, e *mount.Entry) error {
	if err := c.build(ctx, e); err != nil {
		return err
	}
	e.Special = nil
	if sp, ok := e.Backend.(logical.SpecialPather); ok {
		e.Special = sp.SpecialPaths()
	}
	return nil
}

func (c *Core) build(ctx context.Context, e *mount.Entry) error {
	if e.UUID == "" {
		e.UUID = randid.UUID()
		e.StoragePrefix = storagePrefix(e)
	}
	e.View = storage.NewView(c.barrier, e.StoragePrefix)
	switch e.Type {
	case typeSystem:
		if c.cfg.System == nil {
			return errors.New("no system backend")
		}
		e.Backend = c.cfg.System(c)
		return nil
	case typeToken:
		e.Backend = c.tokens.Backend()
		return nil
	case typeIdentity:
		e.Backend = c.identity.Backend()
		return nil
	}
	f, ok := c.cfg.Backends[e.Type]
	if !ok {
		return fmt.Errorf("unknown backend type %q", e.Type)
	}
	b, err := f(ctx, &logical.BackendConfig{
		Storage:         e.View,
		Options:         e.Options,
		Logger:          c.logger.With("mount", e.Path),
		DefaultLeaseTTL: c.ttl(e.Config.DefaultLeaseTTL, c.cfg.DefaultLeaseTTL),
		MaxLeaseTTL:     c.ttl(e.Config.MaxLeaseTTL, c.cfg.MaxLeaseTTL),
	})
	if err != nil {
		return err
	}
	e.Backend = b
	return nil
}

// SystemLeaseTTLs are the server's default and maximum lease TTLs, which
// apply on mounts that set none.
func (c *Core) SystemLeaseTTLs() (def, max time.Duration) {
	return c.cfg.DefaultLeaseTTL, c.cfg.MaxLeaseTTL
}

func (c *Core) ttl(mountTTL, system time.Duration) time.Duration {
	if mountTTL > 0 {
		return mountTTL
	}
	return system
}

// Mounts returns a snapshot of the mount table. It is called during a
// request (sys/mounts and friends), with c.state held (see TokensCreated).
func (c *Core) Mounts() []*mount.Entry {
	if c.mounts == nil {
		return nil
	}
	return c.mounts.Entries()
}

// KnownType reports whether a backend type can be mounted.
func (c *Core) KnownType(t string) bool {
	_, ok := c.cfg.Backends[t]
	return ok
}

// Mount adds a mount. e.Path must already be normalised (ends in "/").
func (c *Core) Mount(ctx context.Context, e *mount.Entry) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	if err := checkMountPath(e.Path); err != nil {
		return err
	}
	if !c.KnownType(e.Type) || e.Type == typeCubbyhole {
		return logical.InvalidRequest("plugin not found in the catalog: %s", e.Type)
	}
	if err := c.replaceDefault(ctx, e.Path); err != nil {
		return err
	}
	e.UUID = ""
	if err := c.attach(ctx, e); err != nil {
		return logical.InvalidRequest("failed to mount %s: %s", e.Path, err.Error())
	}
	if err := c.mounts.Add(e); err != nil {
		if errors.Is(err, mount.ErrPathInUse) {
			return logical.InvalidRequest("path is already in use at %s", strings.TrimPrefix(e.Path, "auth/"))
		}
		return logical.InvalidRequest("%s", err.Error())
	}
	if err := c.mounts.Save(ctx, c.barrier, mountsKey); err != nil {
		c.mounts.Remove(e.Path)
		return err
	}
	c.logger.Info("mounted", "path", e.Path, "type", e.Type)
	return nil
}

// replaceDefault removes the default mount at path if it holds no data,
// so that an explicit mount can take its place.
func (c *Core) replaceDefault(ctx context.Context, path string) error {
	old, ok := c.mounts.Get(path)
	if !ok || !old.Default {
		return nil
	}
	keys, err := old.View.List(ctx, "")
	if err != nil {
		return fmt.Errorf("inspect %s: %w", path, err)
	}
	if len(keys) > 0 {
		return nil // it holds data: the path is in use
	}
	c.mounts.Remove(path)
	if err := c.mounts.Save(ctx, c.barrier, mountsKey); err != nil {
		_ = c.mounts.Add(old)
		return err
	}
	return nil
}

// Unmount removes the mount at path and deletes its data. Clearing the
// mount's storage is recorded in the same transaction that removes the
// mount, then done in the background (resumed after a seal or a crash), so
// the path is free at once and the data goes even if nobody waits.
func (c *Core) Unmount(ctx context.Context, path string) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	e, ok := c.mounts.Get(path)
	if !ok {
		// Vault answers success for a path with nothing mounted.
		return nil
	}
	if e.Builtin {
		return logical.InvalidRequest("cannot unmount %q", path)
	}
	// Its secrets die with it: revoke every lease it issued first, and
	// for an auth method every token it issued.
	if err := c.leases.RevokePrefix(ctx, path, true); err != nil {
		return fmt.Errorf("revoke leases of %s: %w", path, err)
	}
	if strings.HasPrefix(path, "auth/") {
		if err := c.tokens.RevokeByPathPrefix(ctx, path); err != nil {
			return fmt.Errorf("revoke tokens of %s: %w", path, err)
		}
	}
	owed := cleanup{Prefix: e.StoragePrefix, Path: path, Created: time.Now().UTC()}
	rec, err := owed.encode()
	if err != nil {
		return err
	}
	rec.Key = cleanupKey(e.UUID)
	c.mounts.Remove(path)
	err = c.barrier.Update(ctx, func(tx storage.Tx) error {
		if err := c.mounts.Save(ctx, tx, mountsKey); err != nil {
			return err
		}
		return tx.Put(ctx, rec)
	})
	if err != nil {
		_ = c.mounts.Add(e)
		return err
	}
	closeBackend(ctx, c, e)
	c.runCleanup(rec.Key, owed)
	c.logger.Info("unmounted", "path", path)
	return nil
}

// Remount moves a mount, with its data, to a new path.
func (c *Core) Remount(ctx context.Context, from, to string) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	e, ok := c.mounts.Get(from)
	if !ok {
		return logical.InvalidRequest("no matching mount at %q", from)
	}
	if e.Builtin {
		return logical.InvalidRequest("cannot remount %q", from)
	}
	if strings.HasPrefix(from, "auth/") != strings.HasPrefix(to, "auth/") {
		return logical.InvalidRequest("cannot move a mount between secrets engines and auth methods")
	}
	if err := checkMountPath(to); err != nil {
		return err
	}
	moved := e.Clone()
	moved.Path = to
	if err := c.mounts.Replace(from, moved); err != nil {
		return logical.InvalidRequest("%s", err.Error())
	}
	if err := c.mounts.Save(ctx, c.barrier, mountsKey); err != nil {
		_ = c.mounts.Replace(to, e)
		return err
	}
	return nil
}

// Tune changes a mount's configuration with fn. A change of options
// rebuilds the backend (KV's version=2 upgrade).
func (c *Core) Tune(ctx context.Context, path string, fn func(e *mount.Entry) error) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	e, ok := c.mounts.Get(path)
	if !ok {
		return logical.InvalidRequest("no mount at %q", path)
	}
	tuned := e.Clone()
	if err := fn(tuned); err != nil {
		return err
	}
	if !equalOptions(e.Options, tuned.Options) || tuned.Config.DefaultLeaseTTL != e.Config.DefaultLeaseTTL || tuned.Config.MaxLeaseTTL != e.Config.MaxLeaseTTL {
		if !e.Builtin {
			if err := c.attach(ctx, tuned); err != nil {
				return logical.InvalidRequest("failed to tune %s: %s", path, err.Error())
			}
		}
	}
	if err := c.mounts.Replace(path, tuned); err != nil {
		return err
	}
	if err := c.mounts.Save(ctx, c.barrier, mountsKey); err != nil {
		_ = c.mounts.Replace(path, e)
		return err
	}
	return nil
}

func equalOptions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkMountPath refuses paths that would shadow the core's own mounts.
func checkMountPath(p string) error {
	if p == "" || p == "/" || !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") {
		return logical.InvalidRequest("invalid mount path %q", p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "*+{}\\") {
			return logical.InvalidRequest("invalid mount path %q", p)
		}
	}
	if p == "auth/" {
		return logical.InvalidRequest("invalid mount path %q", p)
	}
	for _, r := range reserved {
		if strings.HasPrefix(p, r) || strings.HasPrefix(r, p) {
			return logical.InvalidRequest("cannot mount at reserved path %q", strings.TrimSuffix(r, "/"))
		}
	}
	return nil
}

// UpdateMounts runs fn in one storage transaction over the storage of the
// mounts owning paths (full logical paths), handing it, for each path, a
// transaction view of its mount, the mount and the path relative to it.
// Everything fn writes commits together or not at all. It is called during
// a request (sys/kv/move), with c.state held (see TokensCreated).
func (c *Core) UpdateMounts(ctx context.Context, paths []string, fn func(txs []storage.Tx, entries []*mount.Entry, rels []string) error) error {
	entries := make([]*mount.Entry, len(paths))
	rels := make([]string, len(paths))
	for i, p := range paths {
		e, rel, ok := c.mounts.Match(p)
		if !ok {
			return logical.InvalidRequest("no mount at %q", p)
		}
		entries[i], rels[i] = e, rel
	}
	return c.barrier.Update(ctx, func(tx storage.Tx) error {
		txs := make([]storage.Tx, len(entries))
		for i, e := range entries {
			txs[i] = storage.TxView(tx, e.StoragePrefix)
		}
		return fn(txs, entries, rels)
	})
}

// closeBackend releases what e's backend holds (logical.Closer), once it
// serves no more requests.
func closeBackend(ctx context.Context, c *Core, e *mount.Entry) {
	if cl, ok := e.Backend.(logical.Closer); ok {
		if err := cl.Close(ctx); err != nil {
			c.logger.Warn("closing backend", "path", e.Path, "error", err)
		}
	}
}

// closeBackends closes every mounted backend; called when sealing.
func (c *Core) closeBackends() {
	if c.mounts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range c.mounts.Entries() {
		closeBackend(ctx, c, e)
	}
}
