package sys

import (
	"context"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/logical"
)

// Auditor is what the audit endpoints need from the core.
type Auditor interface {
	AuditDevices() []*audit.DeviceConfig
	EnableAudit(ctx context.Context, d *audit.DeviceConfig) error
	DisableAudit(ctx context.Context, path string) error
	AuditHash(path, input string) (string, error)
}

// auditDevices answers sys/audit and sys/audit/<path>.
func (b *Backend) auditDevices(ctx context.Context, req *logical.Request, path string) (*logical.Response, error) {
	if path == "" {
		if req.Operation != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		data := map[string]any{}
		for _, d := range b.core.AuditDevices() {
			data[d.Path] = auditOutput(d)
		}
		return &logical.Response{Data: data}, nil
	}
	full := normalizeMountPath(path)
	switch req.Operation {
	case logical.ReadOperation:
		for _, d := range b.core.AuditDevices() {
			if d.Path == full {
				return &logical.Response{Data: auditOutput(d)}, nil
			}
		}
		return nil, &logical.Error{Kind: logical.KindNotFound}
	case logical.UpdateOperation:
		var in struct {
			Type        string            `json:"type"`
			Description string            `json:"description"`
			Options     map[string]string `json:"options"`
			Local       bool              `json:"local"`
		}
		if err := decode(req, &in); err != nil {
			return nil, err
		}
		if in.Type == "" {
			return nil, logical.InvalidRequest("type is required")
		}
		return nil, b.core.EnableAudit(ctx, &audit.DeviceConfig{Path: full, Type: in.Type, Description: in.Description, Options: in.Options, Local: in.Local})
	case logical.DeleteOperation:
		return nil, b.core.DisableAudit(ctx, full)
	}
	return nil, logical.ErrUnsupportedOperation
}

func auditOutput(d *audit.DeviceConfig) map[string]any {
	opts := map[string]string{}
	for k, v := range d.Options {
		opts[k] = v
	}
	return map[string]any{
		"path":        d.Path,
		"type":        d.Type,
		"description": d.Description,
		"options":     opts,
		"local":       d.Local,
	}
}

func (b *Backend) auditHash(req *logical.Request, path string) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	input, _ := req.Data["input"].(string)
	h, err := b.core.AuditHash(normalizeMountPath(path), input)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"hash": h}}, nil
}
