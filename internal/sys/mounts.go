package sys

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/randid"
)

// Mounter is what the mount endpoints need from the core.
type Mounter interface {
	Mounts() []*mount.Entry
	Mount(ctx context.Context, e *mount.Entry) error
	Unmount(ctx context.Context, path string) error
	Remount(ctx context.Context, from, to string) error
	Tune(ctx context.Context, path string, fn func(e *mount.Entry) error) error
	// SystemLeaseTTLs are the TTLs of mounts that set none.
	SystemLeaseTTLs() (def, max time.Duration)
}

// mountInput is the body of sys/mounts/<path> and sys/auth/<path>.
type mountInput struct {
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Config      tuneInput         `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
}

// tuneInput is the body of a tune, and the config of a new mount.
type tuneInput struct {
	DefaultLeaseTTL          any               `json:"default_lease_ttl"`
	MaxLeaseTTL              any               `json:"max_lease_ttl"`
	Description              *string           `json:"description"`
	ListingVisibility        *string           `json:"listing_visibility"`
	AuditNonHMACRequestKeys  []string          `json:"audit_non_hmac_request_keys"`
	AuditNonHMACResponseKeys []string          `json:"audit_non_hmac_response_keys"`
	Options                  map[string]string `json:"options"`
}

// decode turns req.Data into v through JSON, so that numbers, strings and
// nested objects land in typed fields; a type mismatch is a 400.
func decode(req *logical.Request, v any) error {
	raw, err := json.Marshal(req.Data)
	if err != nil {
		return logical.InvalidRequest("invalid request data")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return logical.InvalidRequest("invalid request data: %s", err.Error())
	}
	return nil
}

// parseTTL reads a mount TTL with Vault's rules (package parse); "system"
// or "" means unset (0), and negative values are refused.
func parseTTL(field string, v any) (time.Duration, error) {
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "system" {
		return 0, nil
	}
	d, err := parse.NonNegativeDuration(v)
	if err != nil {
		return 0, logical.InvalidRequest("invalid duration for %s: %v", field, v)
	}
	return d, nil
}

func (t *tuneInput) apply(e *mount.Entry) error {
	if t.DefaultLeaseTTL != nil {
		d, err := parseTTL("default_lease_ttl", t.DefaultLeaseTTL)
		if err != nil {
			return err
		}
		e.Config.DefaultLeaseTTL = d
	}
	if t.MaxLeaseTTL != nil {
		d, err := parseTTL("max_lease_ttl", t.MaxLeaseTTL)
		if err != nil {
			return err
		}
		e.Config.MaxLeaseTTL = d
	}
	if e.Config.MaxLeaseTTL > 0 && e.Config.DefaultLeaseTTL > e.Config.MaxLeaseTTL {
		return logical.InvalidRequest("default_lease_ttl cannot be greater than max_lease_ttl")
	}
	if t.Description != nil {
		e.Description = *t.Description
	}
	if v := t.ListingVisibility; v != nil {
		if *v != "" && *v != "hidden" && *v != "unauth" {
			return logical.InvalidRequest("invalid listing_visibility %q", *v)
		}
		e.Config.ListingVisibility = *v
	}
	if t.AuditNonHMACRequestKeys != nil {
		e.Config.AuditNonHMACRequestKeys = t.AuditNonHMACRequestKeys
	}
	if t.AuditNonHMACResponseKeys != nil {
		e.Config.AuditNonHMACResponseKeys = t.AuditNonHMACResponseKeys
	}
	if t.Options != nil {
		if e.Options == nil {
			e.Options = map[string]string{}
		}
		for k, v := range t.Options {
			if k == "version" && e.Type == "kv" && e.Options["version"] == "2" && v == "1" {
				return logical.InvalidRequest("cannot downgrade a KV mount from version 2 to version 1")
			}
			e.Options[k] = v
		}
	}
	return nil
}

// mountOutput is one mount as sys/mounts shows it.
func mountOutput(e *mount.Entry) map[string]any {
	cfg := map[string]any{
		"default_lease_ttl": int64(e.Config.DefaultLeaseTTL / time.Second),
		"max_lease_ttl":     int64(e.Config.MaxLeaseTTL / time.Second),
		"force_no_cache":    false,
	}
	if e.Config.ListingVisibility != "" {
		cfg["listing_visibility"] = e.Config.ListingVisibility
	}
	if len(e.Config.AuditNonHMACRequestKeys) > 0 {
		cfg["audit_non_hmac_request_keys"] = e.Config.AuditNonHMACRequestKeys
	}
	if len(e.Config.AuditNonHMACResponseKeys) > 0 {
		cfg["audit_non_hmac_response_keys"] = e.Config.AuditNonHMACResponseKeys
	}
	if e.Type == "system" {
		// Vault's sys/ passes the caller's Accept header to the backend
		// (for sys/metrics formats).
		cfg["passthrough_request_headers"] = []string{"Accept"}
	}
	if strings.HasPrefix(e.Path, "auth/") {
		// Tokens of auth methods are service tokens unless a role asks
		// for batch ones; the mount's own setting cannot be tuned here.
		cfg["token_type"] = "default-service"
	}
	out := map[string]any{
		"type":                    e.Type,
		"description":             e.Description,
		"accessor":                e.Accessor,
		"uuid":                    e.UUID,
		"config":                  cfg,
		"options":                 optionsOutput(e),
		"local":                   e.Local,
		"seal_wrap":               e.SealWrap,
		"external_entropy_access": false,
		"plugin_version":          "",
		"running_plugin_version":  "v" + "0.1.0+builtin.tresor",
		"running_sha256":          "",
	}
	if !notPlugins[e.Type] {
		out["deprecation_status"] = "supported"
	}
	return out
}

// notPlugins are the mount types built into Vault's core rather than its
// plugin registry; Vault gives them no deprecation_status.
var notPlugins = map[string]bool{"system": true, "token": true, "cubbyhole": true, "identity": true}

// tuneOutput is a mount's tune read. Unlike sys/mounts, which shows 0 for
// an unset TTL, it shows the effective TTLs, as Vault does.
func (m *mountRoutes) tuneOutput(e *mount.Entry) map[string]any {
	out := mountOutput(e)
	data := out["config"].(map[string]any)
	def, max := m.core.SystemLeaseTTLs()
	if e.Config.DefaultLeaseTTL > 0 {
		def = e.Config.DefaultLeaseTTL
	}
	if e.Config.MaxLeaseTTL > 0 {
		max = e.Config.MaxLeaseTTL
	}
	data["default_lease_ttl"] = int64(def / time.Second)
	data["max_lease_ttl"] = int64(max / time.Second)
	data["description"] = e.Description
	data["options"] = out["options"]
	data["force_no_cache"] = false
	return data
}

// optionsOutput is a mount's options as Vault shows them: null for a
// secrets engine without options, but {} for an auth method, whose options
// Vault always decodes into a map.
func optionsOutput(e *mount.Entry) any {
	if e.Options != nil {
		return e.Options
	}
	if strings.HasPrefix(e.Path, "auth/") {
		return map[string]string{}
	}
	return nil
}

// authTypes are the mount types that are auth methods (mounted below
// auth/ through sys/auth); every other type is a secrets engine.
var authTypes = map[string]bool{"userpass": true, "approle": true, "cert": true, "token": true, "jwt": true, "oidc": true}

// normalizeMountPath turns "secret", "/secret/" into "secret/".
func normalizeMountPath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// normalizeType maps Vault's aliases: kv-v2 is kv with version 2, kv-v1
// and generic are kv version 1.
func normalizeType(in *mountInput) {
	switch in.Type {
	case "kv-v2":
		in.Type = "kv"
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		in.Options["version"] = "2"
	case "kv-v1", "generic":
		in.Type = "kv"
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		if in.Options["version"] == "" {
			in.Options["version"] = "1"
		}
	case "kv":
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		if in.Options["version"] == "" {
			in.Options["version"] = "1"
		}
	}
}

// mountRoutes answers sys/mounts*, sys/remount* and sys/internal/ui/mounts*,
// and (with prefix "auth/") sys/auth*.
type mountRoutes struct {
	core Mounter

	mu         sync.Mutex
	migrations map[string]map[string]any
}

func (m *mountRoutes) list(prefix string) map[string]any {
	out := map[string]any{}
	for _, e := range m.core.Mounts() {
		isAuth := strings.HasPrefix(e.Path, "auth/")
		if (prefix == "auth/") != isAuth {
			continue
		}
		out[strings.TrimPrefix(e.Path, prefix)] = mountOutput(e)
	}
	return out
}

func (m *mountRoutes) find(path string) (*mount.Entry, bool) {
	for _, e := range m.core.Mounts() {
		if e.Path == path {
			return e, true
		}
	}
	return nil, false
}

// handle serves "mounts..." (prefix "") or "auth..." (prefix "auth/").
func (m *mountRoutes) handle(ctx context.Context, req *logical.Request, prefix, rest string) (*logical.Response, error) {
	if rest == "" {
		if req.Operation != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		return &logical.Response{Data: m.list(prefix)}, nil
	}
	path, tune := strings.CutSuffix(rest, "/tune")
	full := prefix + normalizeMountPath(path)
	if normalizeMountPath(path) == "" {
		return nil, logical.InvalidRequest("path is required")
	}
	if prefix == "" && strings.HasPrefix(full, "auth/") {
		return nil, logical.InvalidRequest("cannot mount a secrets engine under auth/; use sys/auth")
	}
	if tune {
		switch req.Operation {
		case logical.ReadOperation:
			e, ok := m.find(full)
			if !ok {
				return nil, logical.InvalidRequest("cannot fetch sysview for path %q", strings.TrimPrefix(full, prefix))
			}
			return &logical.Response{Data: m.tuneOutput(e)}, nil
		case logical.UpdateOperation, logical.CreateOperation:
			var in tuneInput
			if err := decode(req, &in); err != nil {
				return nil, err
			}
			return nil, m.core.Tune(ctx, full, in.apply)
		}
		return nil, logical.ErrUnsupportedOperation
	}
	switch req.Operation {
	case logical.ReadOperation:
		e, ok := m.find(full)
		if !ok {
			return nil, logical.InvalidRequest("no matching mount at %q", strings.TrimPrefix(full, prefix))
		}
		return &logical.Response{Data: mountOutput(e)}, nil
	case logical.UpdateOperation, logical.CreateOperation:
		var in mountInput
		if err := decode(req, &in); err != nil {
			return nil, err
		}
		if in.Type == "" {
			return nil, logical.InvalidRequest("backend type must be specified as a string")
		}
		normalizeType(&in)
		if authTypes[in.Type] != (prefix == "auth/") {
			if prefix == "auth/" {
				return nil, logical.InvalidRequest("unknown auth method type %q", in.Type)
			}
			return nil, logical.InvalidRequest("plugin not found in the catalog: %s", in.Type)
		}
		e := &mount.Entry{Path: full, Type: in.Type, Description: in.Description, Options: in.Options, Local: in.Local, SealWrap: in.SealWrap}
		if err := in.Config.apply(e); err != nil {
			return nil, err
		}
		return nil, m.core.Mount(ctx, e)
	case logical.DeleteOperation:
		return nil, m.core.Unmount(ctx, full)
	}
	return nil, logical.ErrUnsupportedOperation
}

func (m *mountRoutes) remount(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	from, _ := req.Data["from"].(string)
	to, _ := req.Data["to"].(string)
	if from == "" || to == "" {
		return nil, logical.InvalidRequest("both 'from' and 'to' path must be specified as a string")
	}
	from, to = normalizeMountPath(from), normalizeMountPath(to)
	if err := m.core.Remount(ctx, from, to); err != nil {
		return nil, err
	}
	id := randid.UUID()
	m.mu.Lock()
	if m.migrations == nil {
		m.migrations = map[string]map[string]any{}
	}
	m.migrations[id] = map[string]any{"source_mount": from, "target_mount": to, "status": "success"}
	m.mu.Unlock()
	return &logical.Response{Data: map[string]any{"migration_id": id}}, nil
}

func (m *mountRoutes) remountStatus(id string) (*logical.Response, error) {
	m.mu.Lock()
	info, ok := m.migrations[id]
	m.mu.Unlock()
	if !ok {
		return nil, logical.InvalidRequest("Did not find migration info for migration id %q", id)
	}
	return &logical.Response{Data: map[string]any{"migration_id": id, "migration_info": info}}, nil
}

// number reads a JSON number (or a numeric string).
func number(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case string:
		return json.Number(x).Float64()
	}
	return 0, fmt.Errorf("not a number: %T", v)
}
