package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/token"
)

// Handle runs req through the request pipeline and returns the backend's
// answer. req.Path is the full logical path ("sys/rotate").
func (c *Core) Handle(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	// A change, once started, runs to completion even if the client hangs
	// up: an unmount, a revoke-prefix or a tidy half done because a client
	// gave up would leave the server in a state nobody asked for.
	if req.Operation != logical.ReadOperation && req.Operation != logical.ListOperation {
		ctx = context.WithoutCancel(ctx)
	}
	c.state.RLock()
	defer c.state.RUnlock()
	sr := standbyReadOf(ctx)
	if sr != nil && c.standby && !c.sealed {
		if !c.replica.current() {
			c.loadReplicaSoon()
			return nil, sr.decline()
		}
	} else {
		sr = nil // active meanwhile: served as any request
		if err := c.activeCheck(); err != nil {
			return nil, err
		}
	}

	if q := c.quotas.Take(req.Path, clientIP(req.Connection)); q.Applied {
		if q.ResponseHeaders {
			req.RateLimit = &logical.RateLimit{Limit: q.Limit, Remaining: q.Remaining, Reset: q.Reset}
		}
		if !q.Allowed {
			err := &logical.Error{Kind: logical.KindRateLimited, RetryAfter: q.RetryAfter,
				Messages: []string{fmt.Sprintf("request path %q: rate limit quota exceeded", req.Path)}}
			if q.AuditRejected && c.audit.Enabled() {
				// Refused requests are audited only when asked to be.
				return nil, c.refuse(ctx, auditInput(req, nil, nil, nil), err)
			}
			return nil, err
		}
	}
	entry, rel, found := c.mounts.Match(req.Path)
	if sr != nil && (!found || !standbyServes(entry, req)) {
		return nil, sr.decline()
	}
	var unauth, sudo bool
	if found && entry.Special != nil {
		unauth = matchSpecial(entry.Special.Unauthenticated, rel)
		sudo = matchSpecial(entry.Special.Root, rel)
	}
	// A listener may open sys/metrics to scrapers, and the rekey and
	// generate-root endpoints, to callers without a token; no other path
	// can be opened from outside the backends.
	unauth = unauth || (req.Unauthenticated && openable(req.Path))
	te, err := c.authenticate(ctx, req, unauth)
	if sr != nil && (err != nil || te == nil || te.NumUses != 0) {
		// Refusals and use-limited tokens are the active node's to
		// answer and count.
		return nil, sr.decline()
	}

	// The audit record carries the mount's details but the full path.
	var in *audit.Input
	if c.audit.Enabled() {
		areq := *req
		if found {
			areq.MountPoint, areq.MountType, areq.MountAccessor = entry.Path, entry.Type, entry.Accessor
		}
		in = auditInput(&areq, te, nil, nil)
		if found {
			in.NonHMACRequestKeys = entry.Config.AuditNonHMACRequestKeys
			in.NonHMACResponseKeys = entry.Config.AuditNonHMACResponseKeys
		}
	}
	if err != nil {
		return nil, c.refuse(ctx, in, err)
	}
	if !found {
		return nil, c.refuse(ctx, in, &logical.Error{Kind: logical.KindNotFound, Messages: []string{fmt.Sprintf("no handler for route %q. route entry not found.", req.Path)}})
	}

	breq := *req
	breq.Path = rel
	breq.MountPoint = entry.Path
	breq.MountType = entry.Type
	breq.MountAccessor = entry.Accessor
	breq.Storage = entry.View
	breq.Unauthenticated = unauth
	if breq.Operation == logical.UpdateOperation {
		if ec, ok := entry.Backend.(logical.ExistenceChecker); ok {
			checked, exists, err := ec.ExistenceCheck(storage.WithWriteIntent(ctx), &breq)
			if err != nil {
				return nil, c.refuse(ctx, in, err)
			}
			if checked && !exists {
				breq.Operation = logical.CreateOperation
			}
		}
	}
	if in != nil {
		in.Request.Operation = breq.Operation
	}
	if te != nil {
		if !unauth {
			if err := c.authorize(ctx, te, req.Path, breq.Operation, req.Data, req.WrapTTL, sudo); err != nil {
				return nil, c.refuse(ctx, in, err)
			}
		}
		breq.Token = &logical.TokenInfo{
			Accessor:    te.Accessor,
			Policies:    te.Policies,
			DisplayName: te.DisplayName,
			EntityID:    te.EntityID,
			Meta:        te.Meta,
			Root:        te.IsRoot(),
		}
		if te.NumUses > 0 && !unauth {
			last, err := c.tokens.Use(ctx, te)
			if err != nil {
				return nil, c.refuse(ctx, in, logical.ErrPermissionDenied)
			}
			if last {
				// A token on its last use dies once the request is done.
				defer func() {
					if err := c.tokens.Revoke(context.WithoutCancel(ctx), req.ClientToken); err != nil {
						c.logger.Error("revoking used-up token", "error", err)
					}
				}()
			}
		}
	}

	start := time.Now()
	defer func() { c.metrics.ObserveRoute(entry.Path, string(breq.Operation), time.Since(start)) }()
	// No audit record, no answer: the request is logged before it runs.
	if in != nil {
		if err := c.logAudit(ctx, "request", in); err != nil {
			c.metrics.AuditFailure()
			return nil, errAuditFailed
		}
	}
	resp, err := entry.Backend.HandleRequest(ctx, &breq)
	if sr != nil && err == nil && resp != nil && needsActive(resp) {
		resp, err = nil, sr.decline() // not expected of a KV read
	}
	if err == nil && resp != nil {
		resp, err = c.complete(ctx, entry, req, breq.Operation, te, resp)
	}
	if in != nil {
		in.Response, in.Err = resp, err
		if aerr := c.logAudit(ctx, "response", in); aerr != nil {
			c.metrics.AuditFailure()
			return nil, errAuditFailed
		}
	}
	return resp, err
}

// complete does what the core owes a backend's answer before it leaves:
// mint the token of a login, filter a recursive listing, lease a secret,
// wrap the response. On error the response is dropped.
func (c *Core) complete(ctx context.Context, entry *mount.Entry, req *logical.Request, op logical.Operation, te *token.Entry, resp *logical.Response) (*logical.Response, error) {
	resp.MountType = entry.Type
	auth := strings.HasPrefix(entry.Path, "auth/")
	if a := resp.Auth; a != nil && a.ClientToken == "" && auth {
		// A login: the auth method vouched for the caller; mint its token.
		a.DisplayName = loginDisplayName(entry.Path, a.DisplayName)
		if err := c.loginIdentity(ctx, entry, a); err != nil {
			return nil, err
		}
		if _, err := c.tokens.CreateFromAuth(ctx, a, req.Path); err != nil {
			return nil, err
		}
		c.identityPolicies(a)
	}
	if te != nil && !te.IsRoot() && op == logical.ListOperation && isTrue(req.Data["recursive"]) {
		if err := c.filterRecursiveList(ctx, te, entry.Path, req.Path, resp); err != nil {
			return nil, err
		}
	}
	if resp.Secret != nil && resp.Secret.LeaseID == "" && !resp.Secret.NoLease && !auth {
		if err := c.registerLease(ctx, entry, req.Path, te, resp); err != nil {
			return nil, err
		}
	}
	if req.WrapTTL > 0 && (resp.Data != nil || resp.Auth != nil) && resp.Raw == nil {
		return c.wrap(ctx, resp, req.WrapTTL, req.Path)
	}
	return resp, nil
}

// isTrue reads a query-string flag with Vault's boolean rule.
func isTrue(v any) bool {
	b, _ := parse.Bool(v)
	return b
}

// filterRecursiveList keeps only the keys of a recursive listing that the
// caller may read or list, so a recursive LIST reveals no more than the
// caller could find by walking level by level. For KV version 2 the data/
// path of a key counts as well as its metadata/ path.
func (c *Core) filterRecursiveList(ctx context.Context, te *token.Entry, mountPath, listPath string, resp *logical.Response) error {
	keys, ok := resp.Data["keys"].([]string)
	if !ok {
		return nil
	}
	acl, err := c.aclFor(ctx, te)
	if err != nil {
		return err
	}
	dataPath := ""
	if rest, ok := strings.CutPrefix(listPath, mountPath+"metadata/"); ok {
		dataPath = mountPath + "data/" + rest
	}
	may := func(p string) bool {
		return acl.Allowed(logical.ReadOperation, p, nil, 0).Allowed || acl.Allowed(logical.ListOperation, p, nil, 0).Allowed
	}
	kept := keys[:0:0]
	for _, k := range keys {
		if may(listPath+k) || (dataPath != "" && may(dataPath+k)) {
			kept = append(kept, k)
		}
	}
	resp.Data["keys"] = kept
	return nil
}

// logAudit records one entry on the audit devices, timing it.
func (c *Core) logAudit(ctx context.Context, typ string, in *audit.Input) error {
	start := time.Now()
	var err error
	if typ == "request" {
		err = c.audit.LogRequest(ctx, in)
	} else {
		err = c.audit.LogResponse(ctx, in)
	}
	c.metrics.ObserveAudit(typ, time.Since(start))
	return err
}

// refuse records a request that fails before reaching its backend (denied,
// unknown route) and returns err.
func (c *Core) refuse(ctx context.Context, in *audit.Input, err error) error {
	if in == nil {
		return err
	}
	in.Err = err
	if c.audit.LogRequest(ctx, in) != nil || c.audit.LogResponse(ctx, in) != nil {
		c.metrics.AuditFailure()
		return errAuditFailed
	}
	return err
}

// loginDisplayName prefixes a login's display name with its mount, as Vault
// does ("userpass-alice").
func loginDisplayName(mountPath, name string) string {
	prefix := strings.ReplaceAll(strings.Trim(strings.TrimPrefix(mountPath, "auth/"), "/"), "/", "-")
	if name == "" {
		return prefix
	}
	return prefix + "-" + name
}

// authenticate resolves the caller's token. Every path needs one except
// the few that Vault serves unauthenticated, where a token is still read
// if one is presented (and ignored if it is not valid).
func (c *Core) authenticate(ctx context.Context, req *logical.Request, unauth bool) (*token.Entry, error) {
	if req.ClientToken == "" && unauth {
		return nil, nil
	}
	te, err := c.tokens.Lookup(ctx, req.ClientToken)
	if errors.Is(err, token.ErrNotFound) {
		if unauth {
			return nil, nil
		}
		return nil, logical.ErrPermissionDenied
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if len(te.BoundCIDRs) > 0 && !fromCIDRs(req.Connection, te.BoundCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	// A disabled entity's tokens are refused.
	if _, err := c.entityOf(te); err != nil {
		if unauth {
			return nil, nil
		}
		return nil, err
	}
	return te, nil
}

// clientIP is the request's peer address without its port.
func clientIP(conn *logical.Connection) string {
	if conn == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(conn.RemoteAddr)
	if err != nil {
		return conn.RemoteAddr
	}
	return host
}

// fromCIDRs reports whether the request comes from one of cidrs.
func fromCIDRs(conn *logical.Connection, cidrs []string) bool {
	ip, err := netip.ParseAddr(clientIP(conn))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(ip) {
			return true
		}
		if a, err := netip.ParseAddr(c); err == nil && a.Unmap() == ip {
			return true
		}
	}
	return false
}

// matchSpecial reports whether a mount-relative path matches one of a
// backend's special path patterns (a trailing "*" matches any suffix).
func matchSpecial(patterns []string, path string) bool {
	for _, p := range patterns {
		if prefix, glob := strings.CutSuffix(p, "*"); glob {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if path == p || path == p+"/" {
			return true
		}
	}
	return false
}
