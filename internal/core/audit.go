package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/token"
)

// auditKey holds the audit device table, behind the barrier.
const auditKey = "core/audit"

// errAuditFailed is what a client sees when no audit device could record
// its request: the request is refused and nothing secret leaves.
var errAuditFailed = errors.New("audit: no device could record the request")

// setupAudit loads the stored audit devices into a fresh broker. A device
// that cannot be opened is logged and skipped: the remaining ones still
// record, and with none the server would refuse every request.
func (c *Core) setupAudit(ctx context.Context) error {
	c.audit = audit.NewBroker(c.logger.With("component", "audit"))
	devs, err := c.loadAuditTable(ctx)
	if err != nil {
		return err
	}
	c.auditDevs = devs
	for _, d := range devs {
		c.openAudit(ctx, d)
	}
	return c.setupDeclaredAudit(ctx)
}

func (c *Core) openAudit(ctx context.Context, d *audit.DeviceConfig) {
	dev, err := audit.NewDevice(d.Type, d.Options, d.Salt, c.cfg.AuditForbiddenDirs...)
	if err == nil {
		err = c.audit.Enable(ctx, d.Path, dev)
	}
	if err != nil {
		c.logger.Error("audit device could not be opened", "path", d.Path, "error", err)
	}
}

// declaredSaltsKey keeps the HMAC salts of configuration-declared devices,
// so their hashes stay comparable across restarts.
const declaredSaltsKey = "core/audit-declared-salts"

// setupDeclaredAudit enables the devices of the server configuration.
func (c *Core) setupDeclaredAudit(ctx context.Context) error {
	if len(c.cfg.DeclaredAudit) == 0 {
		return nil
	}
	salts := map[string][]byte{}
	if e, err := c.barrier.Get(ctx, declaredSaltsKey); err == nil {
		if err := json.Unmarshal(e.Value, &salts); err != nil {
			return fmt.Errorf("decode declared audit salts: %w", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read declared audit salts: %w", err)
	}
	changed := false
	for i := range c.cfg.DeclaredAudit {
		d := c.cfg.DeclaredAudit[i]
		if c.auditPathTaken(d.Path) {
			c.logger.Error("declared audit device conflicts with an API-enabled one; skipped", "path", d.Path)
			continue
		}
		if salts[d.Path] == nil {
			salt, err := audit.NewSalt()
			if err != nil {
				return err
			}
			salts[d.Path], changed = salt, true
		}
		d.Salt = salts[d.Path]
		c.declared = append(c.declared, &d)
		c.openAudit(ctx, &d)
	}
	if !changed {
		return nil
	}
	raw, err := json.Marshal(salts)
	if err != nil {
		return err
	}
	return c.barrier.Put(ctx, &storage.Entry{Key: declaredSaltsKey, Value: raw})
}

func (c *Core) auditPathTaken(path string) bool {
	for _, have := range c.auditDevs {
		if have.Path == path {
			return true
		}
	}
	for _, have := range c.declared {
		if have.Path == path {
			return true
		}
	}
	return false
}

func (c *Core) loadAuditTable(ctx context.Context) ([]*audit.DeviceConfig, error) {
	e, err := c.barrier.Get(ctx, auditKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit table: %w", err)
	}
	var devs []*audit.DeviceConfig
	if err := json.Unmarshal(e.Value, &devs); err != nil {
		return nil, fmt.Errorf("decode audit table: %w", err)
	}
	return devs, nil
}

func (c *Core) saveAuditTable(ctx context.Context, devs []*audit.DeviceConfig) error {
	raw, err := json.Marshal(devs)
	if err != nil {
		return err
	}
	return c.barrier.Put(ctx, &storage.Entry{Key: auditKey, Value: raw})
}

// AuditDevices lists the enabled audit devices.
func (c *Core) AuditDevices() []*audit.DeviceConfig {
	c.auditMu.Lock()
	defer c.auditMu.Unlock()
	out := append(append([]*audit.DeviceConfig{}, c.auditDevs...), c.declared...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// EnableAudit opens and enables a device; the device must open (its file
// be writable) before it is stored.
func (c *Core) EnableAudit(ctx context.Context, d *audit.DeviceConfig) error {
	c.auditMu.Lock()
	defer c.auditMu.Unlock()
	if c.auditPathTaken(d.Path) {
		return logical.InvalidRequest("path already in use")
	}
	salt, err := audit.NewSalt()
	if err != nil {
		return err
	}
	d.Salt = salt
	dev, err := audit.NewDevice(d.Type, d.Options, d.Salt, c.cfg.AuditForbiddenDirs...)
	if err != nil {
		return logical.InvalidRequest("%s", err.Error())
	}
	devs := append(append([]*audit.DeviceConfig{}, c.auditDevs...), d)
	if err := c.saveAuditTable(ctx, devs); err != nil {
		_ = dev.Close()
		return err
	}
	if err := c.audit.Enable(ctx, d.Path, dev); err != nil {
		return err
	}
	c.auditDevs = devs
	c.logger.Info("enabled audit device", "path", d.Path, "type", d.Type)
	return nil
}

// DisableAudit removes a device; a path with none is not an error.
func (c *Core) DisableAudit(ctx context.Context, path string) error {
	c.auditMu.Lock()
	defer c.auditMu.Unlock()
	for _, d := range c.declared {
		if d.Path == path {
			return logical.InvalidRequest("the audit device at %q is declared in the server configuration; remove it there", path)
		}
	}
	var devs []*audit.DeviceConfig
	found := false
	for _, d := range c.auditDevs {
		if d.Path == path {
			found = true
			continue
		}
		devs = append(devs, d)
	}
	if !found {
		return nil
	}
	if err := c.saveAuditTable(ctx, devs); err != nil {
		return err
	}
	c.auditDevs = devs
	return c.audit.Disable(path)
}

// AuditHash hashes input the way the device at path does.
func (c *Core) AuditHash(path, input string) (string, error) {
	h, err := c.audit.Hash(path, input)
	if err != nil {
		return "", logical.InvalidRequest("unknown audit backend %q", strings.TrimSuffix(path, "/"))
	}
	return h, nil
}

// ReopenAudit reopens every audit file (after log rotation, on SIGHUP).
func (c *Core) ReopenAudit() error {
	c.state.RLock()
	defer c.state.RUnlock()
	if c.audit == nil {
		return nil
	}
	return c.audit.Reopen()
}

// auditInput describes a request for the audit broker.
func auditInput(req *logical.Request, te *token.Entry, nonHMACReq, nonHMACResp []string) *audit.Input {
	in := &audit.Input{Request: req, NonHMACRequestKeys: nonHMACReq, NonHMACResponseKeys: nonHMACResp}
	if te != nil {
		in.Auth = &audit.AuthInfo{
			ClientToken:    req.ClientToken,
			Accessor:       te.Accessor,
			DisplayName:    te.DisplayName,
			Policies:       te.Policies,
			TokenPolicies:  te.Policies,
			Metadata:       te.Meta,
			EntityID:       te.EntityID,
			TokenType:      te.Type,
			TokenTTL:       te.TTL,
			TokenIssueTime: te.CreationTime,
		}
	}
	return in
}
