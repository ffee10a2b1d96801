package sys

import (
	"context"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/policy"
)

// tokenPolicies is what sys/policy/explain needs to explain another
// token: its policy names. The core implements it; fakes need not.
type tokenPolicies interface {
	TokenPolicies(ctx context.Context, token string) ([]string, error)
}

// explain answers sys/policy/explain (POST path, operation, and optionally
// token or policies; without either it explains the caller's own token)
// and sys/policy/explain-self (always the caller's token, which the
// default policy grants): the decision, the rule that decided, and what
// each attached policy says.
func (p *policyRoutes) explain(ctx context.Context, req *logical.Request, self bool) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	path, _ := req.Data["path"].(string)
	path = strings.TrimLeft(strings.TrimSpace(path), "/")
	if path == "" {
		return nil, logical.InvalidRequest("path must be supplied")
	}
	op, _ := req.Data["operation"].(string)
	if op == "" {
		op = string(logical.ReadOperation)
	}
	switch logical.Operation(op) {
	case logical.ReadOperation, logical.CreateOperation, logical.UpdateOperation, logical.PatchOperation,
		logical.DeleteOperation, logical.ListOperation:
	default:
		return nil, logical.InvalidRequest("operation must be one of create, read, update, patch, delete, list")
	}
	tok, _ := req.Data["token"].(string)
	names := stringList(req.Data["policies"])
	if self && (tok != "" || len(names) > 0) {
		return nil, logical.InvalidRequest("explain-self takes neither token nor policies")
	}
	if tok != "" && len(names) > 0 {
		return nil, logical.InvalidRequest("give token or policies, not both")
	}
	switch {
	case tok != "":
		tp, ok := p.core.(tokenPolicies)
		if !ok {
			return nil, logical.InvalidRequest("explaining another token is not supported")
		}
		var err error
		if names, err = tp.TokenPolicies(ctx, tok); err != nil {
			return nil, err
		}
	case len(names) == 0:
		if req.Token == nil {
			return nil, logical.ErrPermissionDenied
		}
		names = req.Token.Policies
		if req.Token.Root {
			names = append(names, policy.RootName)
		}
	}
	e, err := p.core.PolicyStore().Explain(ctx, names, logical.Operation(op), path)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: explanationData(e)}, nil
}

// explanationData is e on the wire, in Vault's snake case.
func explanationData(e *policy.Explanation) map[string]any {
	match := func(m *policy.RuleMatch) any {
		if m == nil {
			return nil
		}
		return map[string]any{"pattern": m.Pattern, "kind": string(m.Kind), "capabilities": m.Capabilities, "why": m.Why}
	}
	pols := make([]any, 0, len(e.Policies))
	for _, pe := range e.Policies {
		pols = append(pols, map[string]any{"name": pe.Name, "match": match(pe.Match), "decides": pe.Decides, "why": pe.Why})
	}
	decision := "deny"
	if e.Allowed {
		decision = "allow"
	}
	return map[string]any{
		"path":       e.Path,
		"operation":  e.Operation,
		"capability": e.Capability,
		"decision":   decision,
		"allowed":    e.Allowed,
		"root":       e.Root,
		"reason":     e.Reason,
		"rule":       match(e.Rule),
		"policies":   pols,
	}
}
