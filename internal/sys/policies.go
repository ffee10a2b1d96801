package sys

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/policy"
)

// Policies is what the policy and capability endpoints need from the core.
type Policies interface {
	PolicyStore() *policy.Store
	// TokenACL compiles the ACL of a token ID; an unknown token is
	// logical.ErrPermissionDenied.
	TokenACL(ctx context.Context, token string) (*policy.ACL, error)
	// AccessorACL compiles the ACL of the token with that accessor.
	AccessorACL(ctx context.Context, accessor string) (*policy.ACL, error)
}

// policyRoutes answers sys/policy*, sys/policies/acl* and sys/capabilities*.
type policyRoutes struct {
	core Policies
}

// legacy is sys/policy (answers "rules"); otherwise sys/policies/acl
// (answers "policy").
func (p *policyRoutes) handle(ctx context.Context, req *logical.Request, name string, legacy bool) (*logical.Response, error) {
	store := p.core.PolicyStore()
	if name == "" {
		if req.Operation != logical.ReadOperation && req.Operation != logical.ListOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		if !legacy && req.Operation != logical.ListOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		names, err := store.List(ctx)
		if err != nil {
			return nil, err
		}
		// Vault lists the stored policies, sorted, then the built-in root.
		names = slices.DeleteFunc(names, func(n string) bool { return n == policy.RootName })
		names = append(names, policy.RootName)
		data := map[string]any{"keys": names}
		if legacy {
			data["policies"] = names
		}
		return &logical.Response{Data: data}, nil
	}
	switch req.Operation {
	case logical.ReadOperation:
		pol, err := store.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		key := "policy"
		if legacy {
			key = "rules"
		}
		return &logical.Response{Data: map[string]any{"name": pol.Name, key: pol.Text}}, nil
	case logical.UpdateOperation, logical.CreateOperation:
		text, _ := req.Data["policy"].(string)
		if text == "" {
			text, _ = req.Data["rules"].(string)
		}
		if strings.TrimSpace(text) == "" {
			return nil, logical.InvalidRequest("'policy' parameter not supplied or empty")
		}
		if err := store.Put(ctx, name, text); err != nil {
			return nil, policyError(err)
		}
		return nil, nil
	case logical.DeleteOperation:
		return nil, policyError(store.Delete(ctx, name))
	}
	return nil, logical.ErrUnsupportedOperation
}

// policyError makes a parse error a 400 that names line and column.
func policyError(err error) error {
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		return logical.InvalidRequest("failed to parse policy: %s", pe.Error())
	}
	return err
}

// capabilities answers sys/capabilities, sys/capabilities-self and
// sys/capabilities-accessor: {"capabilities": [...], "<path>": [...]}.
func (p *policyRoutes) capabilities(ctx context.Context, req *logical.Request, which string) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation && req.Operation != logical.CreateOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	paths := stringList(req.Data["paths"])
	if len(paths) == 0 {
		paths = stringList(req.Data["path"])
	}
	if len(paths) == 0 {
		return nil, logical.InvalidRequest("paths must be supplied")
	}
	var (
		acl *policy.ACL
		err error
	)
	switch which {
	case "self":
		acl, err = p.core.TokenACL(ctx, req.ClientToken)
	case "accessor":
		acc, _ := req.Data["accessor"].(string)
		if acc == "" {
			return nil, logical.InvalidRequest("accessor must be supplied")
		}
		acl, err = p.core.AccessorACL(ctx, acc)
	default:
		tok, _ := req.Data["token"].(string)
		if tok == "" {
			return nil, logical.InvalidRequest("token must be supplied")
		}
		acl, err = p.core.TokenACL(ctx, tok)
	}
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	var all []string
	for _, path := range paths {
		caps := acl.Capabilities(strings.TrimPrefix(path, "/"))
		data[path] = caps
		all = append(all, caps...)
	}
	if len(paths) == 1 {
		data["capabilities"] = data[paths[0]]
	} else {
		sort.Strings(all)
		data["capabilities"] = uniq(all)
	}
	return &logical.Response{Data: data}, nil
}

func uniq(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// stringList reads a JSON array of strings or a comma-separated string.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		var out []string
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// resultantACL answers sys/internal/ui/resultant-acl: the caller's merged
// rules, as the UI reads them.
func (p *policyRoutes) resultantACL(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	if req.Token == nil {
		return nil, logical.ErrPermissionDenied
	}
	if req.Token.Root {
		return &logical.Response{Data: map[string]any{"root": true, "exact_paths": map[string]any{}, "glob_paths": map[string]any{}}}, nil
	}
	exact, glob := map[string]policy.Capability{}, map[string]policy.Capability{}
	for _, name := range req.Token.Policies {
		pol, err := p.core.PolicyStore().Get(ctx, name)
		if err != nil {
			continue // a token may outlive its policies
		}
		for _, r := range pol.Rules {
			if prefix, ok := strings.CutSuffix(r.Path, "*"); ok {
				glob[prefix] |= r.Capabilities
			} else {
				exact[r.Path] |= r.Capabilities
			}
		}
	}
	render := func(m map[string]policy.Capability) map[string]any {
		out := make(map[string]any, len(m))
		for path, caps := range m {
			if caps.Has(policy.Deny) {
				caps = policy.Deny
			}
			out[path] = map[string]any{"capabilities": caps.Strings()}
		}
		return out
	}
	return &logical.Response{Data: map[string]any{"root": false, "exact_paths": render(exact), "glob_paths": render(glob)}}, nil
}
