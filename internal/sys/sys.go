// Package sys is the backend mounted at sys/: the control endpoints that
// need an unsealed core (mounts, key rotation, and later policies, audit,
// leases). The seal lifecycle endpoints that answer while sealed live in
// httpapi.
package sys

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/telemetry"
)

// Core is what the system backend needs from the core.
type Core interface {
	Mounter
	Policies
	Auditor
	Wrapper
	Leaser
	Quotas
	MountUpdater
	CORSConfigurer
	Rotator
	SealOperator
	Metrics() *telemetry.Metrics
	Rotate(ctx context.Context) (barrier.KeyInfo, error)
	KeyStatus() (barrier.KeyInfo, error)
}

// Backend answers sys/* requests.
type Backend struct {
	core     Core
	mounts   *mountRoutes
	policies *policyRoutes
	// exact routes by path; prefixed routes are dispatched in HandleRequest.
	routes map[string]map[logical.Operation]handler
}

type handler func(ctx context.Context, req *logical.Request) (*logical.Response, error)

// New returns the system backend over c.
func New(c Core) *Backend {
	b := &Backend{core: c, mounts: &mountRoutes{core: c}, policies: &policyRoutes{core: c}}
	b.routes = map[string]map[logical.Operation]handler{
		"rotate":         {logical.UpdateOperation: b.rotate},
		"rotate/keyring": {logical.UpdateOperation: b.rotate},
		"rotate/config":  {logical.ReadOperation: b.rotationConfig, logical.UpdateOperation: b.rotationConfig},
		"rotate/keyring/config": {logical.ReadOperation: b.rotationConfig,
			logical.UpdateOperation: b.rotationConfig},
		"key-status": {logical.ReadOperation: b.keyStatus},
		"remount":    {logical.UpdateOperation: b.mounts.remount},
		"config/cors": {logical.ReadOperation: b.corsConfig, logical.UpdateOperation: b.corsConfig,
			logical.DeleteOperation: b.corsConfig},
		"internal/ui/mounts": {logical.ReadOperation: b.uiMounts},
		"host-info":          {logical.ReadOperation: b.hostInfo},
		"storage/backup":     {logical.ReadOperation: b.storageBackup},
	}
	return b
}

// SpecialPaths implements logical.SpecialPather: Vault's sudo paths of the
// system backend, and the mount lookup the CLI makes before kv commands.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{
		Root: []string{
			"auth/*", "remount", "rotate", "rotate/keyring", "audit", "audit/*", "raw", "raw/*",
			"config/cors", "config/auditing/*", "config/ui/headers/*", "plugins/catalog/*",
			"revoke-prefix/*", "revoke-force/*", "leases/revoke-prefix/*", "leases/revoke-force/*",
			"leases/lookup/*", "key-status", "locked-users", "locked-users/*", "quotas/*", "kv/move", "pprof/*", "host-info",
			// Since CVE-2024-8185 (OpenBao), unless a listener opens them.
			"rekey/*", "rekey-recovery-key/*", "generate-root/*", "generate-root-token/*",
			"storage/backup", "storage/restore", "storage/restore-force", "backups", "backups/*",
			"storage/raft/remove-peer", "storage/raft/autopilot/configuration",
			"storage/raft/snapshot", "storage/raft/snapshot-force",
		},
		Unauthenticated: []string{
			"internal/ui/mounts", "internal/ui/mounts/*",
			"wrapping/unwrap", "wrapping/lookup", "wrapping/rewrap",
		},
	}
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	op := req.Operation
	if op == logical.CreateOperation {
		op = logical.UpdateOperation
	}
	path := strings.TrimSuffix(req.Path, "/")
	switch {
	case path == "mounts" || strings.HasPrefix(path, "mounts/"):
		return b.mounts.handle(ctx, withOp(req, op), "", strings.TrimPrefix(strings.TrimPrefix(path, "mounts"), "/"))
	case path == "auth" || strings.HasPrefix(path, "auth/"):
		return b.mounts.handle(ctx, withOp(req, op), "auth/", strings.TrimPrefix(strings.TrimPrefix(path, "auth"), "/"))
	case (path == "policy/explain" || path == "policy/explain-self") && op == logical.UpdateOperation:
		return b.policies.explain(ctx, withOp(req, op), path == "policy/explain-self")
	case path == "policy" || strings.HasPrefix(path, "policy/"):
		return b.policies.handle(ctx, withOp(req, op), strings.TrimPrefix(strings.TrimPrefix(path, "policy"), "/"), true)
	case path == "policies/acl" || strings.HasPrefix(path, "policies/acl/"):
		return b.policies.handle(ctx, withOp(req, op), strings.TrimPrefix(strings.TrimPrefix(path, "policies/acl"), "/"), false)
	case path == "internal/ui/resultant-acl":
		return b.policies.resultantACL(ctx, withOp(req, op))
	case path == "capabilities":
		return b.policies.capabilities(ctx, withOp(req, op), "token")
	case path == "capabilities-self":
		return b.policies.capabilities(ctx, withOp(req, op), "self")
	case path == "capabilities-accessor":
		return b.policies.capabilities(ctx, withOp(req, op), "accessor")
	case path == "audit" || strings.HasPrefix(path, "audit/"):
		return b.auditDevices(ctx, withOp(req, op), strings.TrimPrefix(strings.TrimPrefix(path, "audit"), "/"))
	case strings.HasPrefix(path, "audit-hash/"):
		return b.auditHash(withOp(req, op), strings.TrimPrefix(path, "audit-hash/"))
	case path == "wrapping/unwrap" || path == "wrapping/lookup" || path == "wrapping/rewrap" || path == "wrapping/wrap":
		return b.wrapping(ctx, withOp(req, op), strings.TrimPrefix(path, "wrapping/"))
	case path == "leases" || strings.HasPrefix(path, "leases/"):
		return b.leases(ctx, withOp(req, op), strings.TrimPrefix(strings.TrimPrefix(path, "leases"), "/"))
	case path == "renew" || strings.HasPrefix(path, "renew/") || path == "revoke" || strings.HasPrefix(path, "revoke/") ||
		strings.HasPrefix(path, "revoke-prefix/") || strings.HasPrefix(path, "revoke-force/"):
		// Vault's old aliases of sys/leases/*.
		return b.leases(ctx, withOp(req, op), path)
	case strings.HasPrefix(path, "pprof/"):
		return b.pprofProfile(ctx, withOp(req, op), strings.TrimPrefix(path, "pprof/"))
	case sealOpsPath(path):
		return b.sealOps(ctx, withOp(req, op), path)
	case path == "backups" || strings.HasPrefix(path, "backups/"):
		return b.backups(withOp(req, op), strings.TrimPrefix(strings.TrimPrefix(path, "backups"), "/"))
	case path == "kv/move":
		return b.kvMove(ctx, withOp(req, op))
	case strings.HasPrefix(path, "quotas/"):
		return b.quotas(ctx, withOp(req, op), strings.TrimPrefix(path, "quotas/"))
	case strings.HasPrefix(path, "storage/raft/"):
		return b.raft(ctx, withOp(req, op), strings.TrimPrefix(path, "storage/raft/"))
	case path == "metrics":
		return b.metrics(withOp(req, op))
	case path == "locked-users":
		return b.lockedUsers(withOp(req, op))
	case strings.HasPrefix(path, "locked-users/"):
		return b.unlockUser(withOp(req, op), strings.TrimPrefix(path, "locked-users/"))
	case strings.HasPrefix(path, "remount/status/"):
		if op != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		return b.mounts.remountStatus(strings.TrimPrefix(path, "remount/status/"))
	case strings.HasPrefix(path, "internal/ui/mounts/"):
		if op != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		return b.uiMount(ctx, req, strings.TrimPrefix(path, "internal/ui/mounts/"))
	}
	ops, ok := b.routes[path]
	if !ok {
		return nil, logical.ErrUnsupportedPath
	}
	h, ok := ops[op]
	if !ok {
		return nil, logical.ErrUnsupportedOperation
	}
	return h(ctx, req)
}

// withOp returns req with the operation normalised (create → update).
func withOp(req *logical.Request, op logical.Operation) *logical.Request {
	if req.Operation == op {
		return req
	}
	r := *req
	r.Operation = op
	return &r
}

func (b *Backend) rotate(ctx context.Context, _ *logical.Request) (*logical.Response, error) {
	if _, err := b.core.Rotate(ctx); err != nil {
		return nil, err
	}
	return nil, nil
}

func (b *Backend) keyStatus(context.Context, *logical.Request) (*logical.Response, error) {
	ki, err := b.core.KeyStatus()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"term":         ki.Term,
		"install_time": ki.InstallTime.UTC().Format(time.RFC3339Nano),
		"encryptions":  ki.Encryptions,
	}}, nil
}

// metrics answers sys/metrics: Prometheus text with ?format=prometheus,
// otherwise a JSON snapshot.
func (b *Backend) metrics(req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	m := b.core.Metrics()
	if f, _ := req.Data["format"].(string); f == "prometheus" {
		var buf bytes.Buffer
		if err := m.WritePrometheus(&buf); err != nil {
			return nil, err
		}
		return &logical.Response{RawBody: buf.Bytes(), RawContentType: telemetry.PrometheusContentType}, nil
	}
	snap, err := m.Snapshot()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: snap}, nil
}
