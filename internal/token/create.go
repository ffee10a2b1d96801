package token

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ryanuber/go-glob"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

var createFields = map[string]*framework.Field{
	"id":                {Type: framework.TypeString, Description: "Custom token ID (root or sudo only)."},
	"policies":          {Type: framework.TypeStringSlice, Description: "Policies; the caller's when empty."},
	"meta":              {Type: framework.TypeKVPairs, Description: "Metadata, written to the audit log."},
	"no_parent":         {Type: framework.TypeBool, Description: "Create an orphan (root or sudo only)."},
	"no_default_policy": {Type: framework.TypeBool, Description: "Do not attach the default policy."},
	"renewable":         {Type: framework.TypeBool, Default: true, Description: "Whether the token can be renewed."},
	"ttl":               {Type: framework.TypeDuration, Description: "Initial TTL."},
	"lease":             {Type: framework.TypeDuration, Description: "Deprecated alias of ttl."},
	"explicit_max_ttl":  {Type: framework.TypeDuration, Description: "Hard limit on the token's lifetime."},
	"period":            {Type: framework.TypeDuration, Description: "Renewal period of a periodic token (root or sudo only)."},
	"display_name":      {Type: framework.TypeString, Description: "Display name, prefixed with \"token-\"."},
	"num_uses":          {Type: framework.TypeInt, Description: "Number of uses; 0 for unlimited."},
	"type":              {Type: framework.TypeString, Description: "service or batch."},
	"entity_alias":      {Type: framework.TypeString, Description: "Accepted and ignored."},
}

type createInput struct {
	ID              string            `field:"id"`
	Policies        []string          `field:"policies"`
	Meta            map[string]string `field:"meta"`
	NoParent        bool              `field:"no_parent"`
	NoDefaultPolicy bool              `field:"no_default_policy"`
	Renewable       bool              `field:"renewable"`
	TTL             time.Duration     `field:"ttl"`
	Lease           time.Duration     `field:"lease"`
	ExplicitMaxTTL  time.Duration     `field:"explicit_max_ttl"`
	Period          time.Duration     `field:"period"`
	DisplayName     string            `field:"display_name"`
	NumUses         int               `field:"num_uses"`
	Type            string            `field:"type"`
	RoleName        string            `field:"role_name"`
}

var displayNameSanitize = regexp.MustCompile(`[^a-zA-Z0-9-]`)

func (s *Store) handleCreate(orphan bool) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		return s.create(ctx, req, orphan, nil)
	}
}

func (s *Store) handleCreateRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("role_name")
	r, err := s.role(ctx, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, badRequest(fmt.Sprintf("unknown role %s", name))
	}
	return s.create(ctx, req, false, r)
}

// create follows Vault's handleCreateCommon: policies, parentage, type and
// TTL rules, in that order.
func (s *Store) create(ctx context.Context, req *framework.Request, orphan bool, r *role) (*logical.Response, error) {
	var in createInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	parent, err := s.lookup(ctx, req.ClientToken, false)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, badRequest("parent token lookup failed: no parent found")
		}
		return nil, err
	}
	if parent.Type == TypeBatch {
		return nil, badRequest("batch tokens cannot create more tokens")
	}
	if parent.NumUses != 0 {
		return nil, badRequest("restricted use token cannot generate child tokens")
	}
	sudo := s.isSudo(ctx, req.Request)
	if r != nil && r.NoDefaultPolicy {
		in.NoDefaultPolicy = true
	}

	renewable := in.Renewable
	typ := in.Type
	if r != nil {
		switch r.TokenType {
		case "default-batch":
			if typ == "" {
				typ = TypeBatch
			}
		case TypeService, TypeBatch:
			typ = r.TokenType
		}
	}
	switch typ {
	case "", TypeService:
		typ = TypeService
	case TypeBatch:
		var bad string
		switch {
		case in.ExplicitMaxTTL != 0:
			bad = "explicit_max_ttl"
		case in.NumUses != 0:
			bad = "num_uses"
		case in.Period != 0:
			bad = "period"
		}
		if bad != "" {
			return nil, badRequest(fmt.Sprintf("batch tokens cannot have %q set", bad))
		}
		renewable = false
	default:
		return nil, badRequest("invalid 'token_type' value")
	}
	if in.NumUses < 0 {
		return nil, badRequest("number of uses cannot be negative")
	}

	e := &Entry{
		Parent:      s.key(req.ClientToken).String(),
		Path:        "auth/token/" + req.Request.Path,
		Meta:        in.Meta,
		DisplayName: "token",
		NumUses:     in.NumUses,
		Type:        typ,
	}
	if r != nil {
		e.Role = r.Name
		renewable = renewable && r.Renewable
		if r.PathSuffix != "" {
			e.Path += "/" + r.PathSuffix
		}
	}
	if in.DisplayName != "" {
		full := displayNameSanitize.ReplaceAllString("token-"+in.DisplayName, "-")
		e.DisplayName = strings.TrimSuffix(full, "-")
	}
	if in.ID != "" {
		if !sudo {
			return nil, badRequest("root or sudo privileges required to specify token id")
		}
		if typ == TypeBatch || strings.HasPrefix(in.ID, BatchPrefix) {
			return nil, badRequest("custom IDs are not allowed for batch tokens")
		}
		e.ID = in.ID
	}

	policies, err := childPolicies(in, parent, r, sudo)
	if err != nil {
		return nil, err
	}
	e.Policies = policies
	if slices.Contains(e.Policies, "root") {
		if !parent.IsRoot() {
			return nil, badRequest("root tokens may not be created without parent token being root")
		}
		if typ == TypeBatch {
			return nil, badRequest("batch tokens cannot be root tokens")
		}
	}

	switch {
	case r != nil:
		if r.Orphan {
			e.Parent = ""
		}
	case in.NoParent:
		if !sudo {
			return nil, badRequest("root or sudo privileges required to create orphan token")
		}
		e.Parent = ""
	case orphan:
		e.Parent = "" // create-orphan is governed by its ACL
	}
	if e.Parent != "" {
		e.EntityID = parent.EntityID
	}

	resp := &logical.Response{}
	explicitMax := in.ExplicitMaxTTL
	if explicitMax < 0 {
		return nil, badRequest("explicit_max_ttl must be positive")
	}
	period := in.Period
	switch {
	case period < 0:
		return nil, badRequest("period must be positive")
	case period > 0 && !sudo:
		return nil, badRequest("root or sudo privileges required to create periodic token")
	}
	ttl := in.TTL
	if ttl == 0 {
		ttl = in.Lease
	}
	if ttl < 0 {
		return nil, badRequest("ttl must be positive")
	}
	if r != nil && typ != TypeBatch {
		if r.ExplicitMaxTTL != 0 {
			if explicitMax == 0 {
				explicitMax = r.ExplicitMaxTTL
			} else {
				explicitMax = min(explicitMax, r.ExplicitMaxTTL)
				resp.Warnings = append(resp.Warnings, fmt.Sprintf("Explicit max TTL specified both during creation call and in role; using the lesser value of %d seconds", int64(explicitMax/time.Second)))
			}
		}
		if r.Period != 0 {
			if period == 0 {
				period = r.Period
			} else {
				period = min(period, r.Period)
				resp.Warnings = append(resp.Warnings, fmt.Sprintf("Period specified both during creation call and in role; using the lesser value of %d seconds", int64(period/time.Second)))
			}
		}
	}
	e.ExplicitMaxTTL, e.Period = explicitMax, period
	now := s.now().UTC().Truncate(time.Second)
	e.CreationTime = now
	if period > 0 || ttl > 0 || !slices.Contains(e.Policies, "root") {
		var warnings []string
		ttl, warnings, err = s.calculateTTL(ttlRequest{now: now, start: now, ttl: ttl, period: period, explicit: explicitMax})
		if err != nil {
			return nil, badRequest(err.Error())
		}
		resp.Warnings = append(resp.Warnings, warnings...)
	}
	if ttl == 0 && explicitMax > 0 {
		ttl = explicitMax // root tokens are still bound by an explicit max TTL
	}
	if ttl == 0 {
		if !parent.ExpireTime.IsZero() {
			return nil, badRequest("expiring root tokens cannot create non-expiring root tokens")
		}
		renewable = false
	}
	e.TTL, e.Renewable = ttl, renewable

	created, err := s.Create(ctx, e)
	switch {
	case errors.Is(err, ErrIDInUse):
		return nil, badRequest(err.Error())
	case errors.Is(err, ErrNotFound):
		return nil, badRequest("parent token lookup failed: no parent found")
	case err != nil:
		return nil, err
	}
	resp.Auth = created.auth(ttl)
	return resp, nil
}

// restrictsPolicies reports whether the role limits its tokens' policies.
func (r *role) restrictsPolicies() bool {
	return len(r.AllowedPolicies) > 0 || len(r.DisallowedPolicies) > 0 ||
		len(r.AllowedPoliciesGlob) > 0 || len(r.DisallowedPoliciesGlob) > 0
}

// matchesGlob reports whether name matches one of patterns, where "*"
// matches any run of characters.
func matchesGlob(patterns []string, name string) bool {
	for _, p := range patterns {
		if glob.Glob(p, name) {
			return true
		}
	}
	return false
}

// childPolicies decides a new token's policies, as Vault does: a role with
// allowed or disallowed policies decides alone; otherwise a caller without
// sudo may only hand out policies it holds, and "default" is added unless
// no_default_policy (for non-sudo callers, only if the parent has it).
func childPolicies(in createInput, parent *Entry, r *role, sudo bool) ([]string, error) {
	addDefault := false
	policies := in.Policies
	switch {
	case r != nil && r.restrictsPolicies():
		localDefault := !in.NoDefaultPolicy && !slices.Contains(r.DisallowedPolicies, "default")
		var final []string
		if len(policies) > 0 {
			final = sanitizePolicies(policies, localDefault)
		}
		if len(r.AllowedPolicies) > 0 || len(r.AllowedPoliciesGlob) > 0 {
			allowed := sanitizePolicies(r.AllowedPolicies, localDefault)
			if len(final) == 0 {
				final = allowed
			}
			for _, p := range final {
				if !slices.Contains(allowed, p) && !matchesGlob(r.AllowedPoliciesGlob, p) {
					if len(r.AllowedPoliciesGlob) == 0 {
						return nil, badRequest(fmt.Sprintf("token policies (%q) must be subset of the role's allowed policies (%q)", final, allowed))
					}
					return nil, badRequest(fmt.Sprintf("token policies (%q) must be subset of the role's allowed policies (%q) or glob policies (%q)", final, allowed, r.AllowedPoliciesGlob))
				}
			}
		} else if len(final) == 0 {
			final = sanitizePolicies(parent.Policies, localDefault)
		}
		for _, p := range final {
			if slices.Contains(sanitizePolicies(r.DisallowedPolicies, false), p) || matchesGlob(r.DisallowedPoliciesGlob, p) {
				return nil, badRequest(fmt.Sprintf("token policy %q is disallowed by this role", p))
			}
		}
		policies = final
	case len(policies) == 0:
		policies = sanitizePolicies(parent.Policies, false)
	case !sudo:
		if !subset(sanitizePolicies(parent.Policies, false), sanitizePolicies(policies, false)) {
			return nil, badRequest("child policies must be subset of parent")
		}
		addDefault = !in.NoDefaultPolicy && slices.Contains(parent.Policies, "default")
	default:
		addDefault = !in.NoDefaultPolicy
	}
	out := sanitizePolicies(policies, addDefault)
	if in.NoDefaultPolicy {
		out = without(out, "default")
	}
	return out, nil
}
