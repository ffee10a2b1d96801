package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// role is a token role: a template for create/<role>.
type role struct {
	Name               string   `json:"name"`
	AllowedPolicies    []string `json:"allowed_policies"`
	DisallowedPolicies []string `json:"disallowed_policies"`
	// The glob lists hold patterns where "*" matches any run of
	// characters ("app-*").
	AllowedPoliciesGlob    []string      `json:"allowed_policies_glob,omitempty"`
	DisallowedPoliciesGlob []string      `json:"disallowed_policies_glob,omitempty"`
	Orphan                 bool          `json:"orphan"`
	Period                 time.Duration `json:"period"`
	ExplicitMaxTTL         time.Duration `json:"explicit_max_ttl"`
	Renewable              bool          `json:"renewable"`
	PathSuffix             string        `json:"path_suffix"`
	// TokenType is service, batch, default-service or default-batch.
	TokenType       string `json:"token_type"`
	NoDefaultPolicy bool   `json:"token_no_default_policy"`
}

var roleFields = map[string]*framework.Field{
	"allowed_policies":         {Type: framework.TypeStringSlice, Description: "Policies tokens of the role may have."},
	"disallowed_policies":      {Type: framework.TypeStringSlice, Description: "Policies tokens of the role may not have."},
	"allowed_policies_glob":    {Type: framework.TypeStringSlice, Description: "Glob patterns of policies tokens of the role may have."},
	"disallowed_policies_glob": {Type: framework.TypeStringSlice, Description: "Glob patterns of policies tokens of the role may not have."},
	"orphan":                   {Type: framework.TypeBool, Description: "Tokens of the role are orphans."},
	"period":                   {Type: framework.TypeDuration, Description: "Deprecated alias of token_period."},
	"token_period":             {Type: framework.TypeDuration, Description: "Tokens of the role are periodic."},
	"explicit_max_ttl":         {Type: framework.TypeDuration, Description: "Deprecated alias of token_explicit_max_ttl."},
	"token_explicit_max_ttl":   {Type: framework.TypeDuration, Description: "Hard limit on token lifetime."},
	"renewable":                {Type: framework.TypeBool, Description: "Tokens of the role can be renewed (default true)."},
	"path_suffix":              {Type: framework.TypeString, Description: "Appended to the tokens' creation path."},
	"token_type":               {Type: framework.TypeString, Description: "service, batch, default-service or default-batch."},
	"token_no_default_policy":  {Type: framework.TypeBool, Description: "Do not attach the default policy."},
	"allowed_entity_aliases":   {Type: framework.TypeStringSlice, Description: "Accepted and ignored."},
	"token_bound_cidrs":        {Type: framework.TypeStringSlice, Description: "Accepted and ignored."},
}

type roleInput struct {
	Name                string         `field:"role_name"`
	AllowedPolicies     []string       `field:"allowed_policies"`
	DisallowedPolicies  []string       `field:"disallowed_policies"`
	AllowedGlob         []string       `field:"allowed_policies_glob"`
	DisallowedGlob      []string       `field:"disallowed_policies_glob"`
	Orphan              *bool          `field:"orphan"`
	Period              *time.Duration `field:"period"`
	TokenPeriod         *time.Duration `field:"token_period"`
	ExplicitMaxTTL      *time.Duration `field:"explicit_max_ttl"`
	TokenExplicitMaxTTL *time.Duration `field:"token_explicit_max_ttl"`
	Renewable           *bool          `field:"renewable"`
	PathSuffix          *string        `field:"path_suffix"`
	TokenType           *string        `field:"token_type"`
	NoDefaultPolicy     *bool          `field:"token_no_default_policy"`
}

// role reads the named role, or nil if there is none.
func (s *Store) role(ctx context.Context, name string) (*role, error) {
	se, err := s.store.Get(ctx, rolePrefix+strings.ToLower(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read role: %w", err)
	}
	r := new(role)
	if err := json.Unmarshal(se.Value, r); err != nil {
		return nil, fmt.Errorf("decode role: %w", err)
	}
	return r, nil
}

func (s *Store) roleExists(ctx context.Context, req *framework.Request) (bool, error) {
	r, err := s.role(ctx, req.Param("role_name"))
	return r != nil, err
}

func (s *Store) handleRoleList(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	names, err := s.store.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (s *Store) handleRoleRead(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	r, err := s.role(ctx, req.Param("role_name"))
	if err != nil || r == nil {
		// No role: nil answers Vault's 404 with an empty error list.
		return nil, err
	}
	period, maxTTL := int64(r.Period/time.Second), int64(r.ExplicitMaxTTL/time.Second)
	return &logical.Response{Data: map[string]any{
		"name":                     r.Name,
		"allowed_policies":         nonNil(r.AllowedPolicies),
		"disallowed_policies":      nonNil(r.DisallowedPolicies),
		"allowed_policies_glob":    nonNil(r.AllowedPoliciesGlob),
		"disallowed_policies_glob": nonNil(r.DisallowedPoliciesGlob),
		"allowed_entity_aliases":   nil,
		"orphan":                   r.Orphan,
		"period":                   period,
		"token_period":             period,
		"explicit_max_ttl":         maxTTL,
		"token_explicit_max_ttl":   maxTTL,
		"renewable":                r.Renewable,
		"path_suffix":              r.PathSuffix,
		"token_type":               r.TokenType,
		"token_no_default_policy":  r.NoDefaultPolicy,
		"token_bound_cidrs":        []string{},
	}}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Store) handleRoleWrite(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in roleInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	name := strings.ToLower(in.Name)
	if name == "" {
		return nil, badRequest("role name cannot be empty")
	}
	r, err := s.role(ctx, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{Name: name, Renewable: true, TokenType: "default-service"}
	}
	if in.AllowedPolicies != nil {
		r.AllowedPolicies = sanitizePolicies(in.AllowedPolicies, false)
	}
	if in.DisallowedPolicies != nil {
		r.DisallowedPolicies = sanitizePolicies(in.DisallowedPolicies, false)
	}
	if in.AllowedGlob != nil {
		r.AllowedPoliciesGlob = sanitizePolicies(in.AllowedGlob, false)
	}
	if in.DisallowedGlob != nil {
		r.DisallowedPoliciesGlob = sanitizePolicies(in.DisallowedGlob, false)
	}
	if in.Orphan != nil {
		r.Orphan = *in.Orphan
	}
	if d := firstSet(in.TokenPeriod, in.Period); d != nil {
		r.Period = *d
	}
	if d := firstSet(in.TokenExplicitMaxTTL, in.ExplicitMaxTTL); d != nil {
		r.ExplicitMaxTTL = *d
	}
	if in.Renewable != nil {
		r.Renewable = *in.Renewable
	}
	if in.NoDefaultPolicy != nil {
		r.NoDefaultPolicy = *in.NoDefaultPolicy
	}
	if in.PathSuffix != nil {
		suffix := strings.TrimSpace(*in.PathSuffix)
		if strings.Contains(suffix, "..") {
			return nil, badRequest("error registering path suffix: path suffix cannot contain '..'")
		}
		r.PathSuffix = suffix
	}
	if in.TokenType != nil {
		switch t := strings.ToLower(*in.TokenType); t {
		case "", "default":
			r.TokenType = "default-service"
		case TypeService, TypeBatch, "default-service", "default-batch":
			r.TokenType = t
		default:
			return nil, badRequest("invalid 'token_type' value")
		}
	}
	if r.Period < 0 || r.ExplicitMaxTTL < 0 {
		return nil, badRequest("period and explicit max TTL must not be negative")
	}
	var resp *logical.Response
	if r.ExplicitMaxTTL > 0 && r.ExplicitMaxTTL > s.opts.MaxTTL {
		resp = &logical.Response{Warnings: []string{"Given explicit max TTL is greater than system/mount allowed value; tokens will be capped accordingly"}}
	}
	if r.TokenType == TypeBatch && (r.Period > 0 || r.ExplicitMaxTTL > 0) {
		return nil, badRequest("batch tokens cannot be periodic or have an explicit max TTL")
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode role: %w", err)
	}
	if err := s.store.Put(ctx, &storage.Entry{Key: rolePrefix + name, Value: raw}); err != nil {
		return nil, fmt.Errorf("store role: %w", err)
	}
	return resp, nil
}

func firstSet(ds ...*time.Duration) *time.Duration {
	for _, d := range ds {
		if d != nil {
			return d
		}
	}
	return nil
}

func (s *Store) handleRoleDelete(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	if err := s.store.Delete(ctx, rolePrefix+strings.ToLower(req.Param("role_name"))); err != nil {
		return nil, fmt.Errorf("delete role: %w", err)
	}
	return nil, nil
}
