package jwt

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Role types and bound claim types.
const (
	roleTypeJWT      = "jwt"
	roleTypeOIDC     = "oidc"
	boundClaimString = "string"
	boundClaimGlob   = "glob"
)

// reservedMetadata are metadata keys claim_mappings may not write.
var reservedMetadata = []string{"role"}

// role binds tokens to token settings.
type role struct {
	RoleType             string            `json:"role_type"`
	BoundAudiences       []string          `json:"bound_audiences,omitempty"`
	BoundSubject         string            `json:"bound_subject,omitempty"`
	BoundClaimsType      string            `json:"bound_claims_type"`
	BoundClaims          map[string]any    `json:"bound_claims,omitempty"`
	ClaimMappings        map[string]string `json:"claim_mappings,omitempty"`
	UserClaim            string            `json:"user_claim"`
	UserClaimJSONPointer bool              `json:"user_claim_json_pointer,omitempty"`
	GroupsClaim          string            `json:"groups_claim,omitempty"`
	ClockSkewLeeway      time.Duration     `json:"clock_skew_leeway"`
	ExpirationLeeway     time.Duration     `json:"expiration_leeway"`
	NotBeforeLeeway      time.Duration     `json:"not_before_leeway"`
	AllowedRedirectURIs  []string          `json:"allowed_redirect_uris,omitempty"`
	OIDCScopes           []string          `json:"oidc_scopes,omitempty"`
	VerboseOIDCLogging   bool              `json:"verbose_oidc_logging,omitempty"`
	MaxAge               time.Duration     `json:"max_age,omitempty"`
	tokenfields.Fields
}

var roleFields = tokenfields.AddSchema(map[string]*framework.Field{
	"role_type":               {Type: framework.TypeString, Description: `"jwt" or "oidc" (the default; browser flow, not supported).`},
	"bound_audiences":         {Type: framework.TypeStringSlice, Description: "Audiences (aud) of which a token must have one."},
	"bound_subject":           {Type: framework.TypeString, Description: "Subject (sub) a token must have."},
	"bound_claims_type":       {Type: framework.TypeString, Description: `"string" (exact values) or "glob".`},
	"bound_claims":            {Type: framework.TypeMap, Description: "Claims (names or JSON pointers) and the values they must have."},
	"claim_mappings":          {Type: framework.TypeKVPairs, Description: "Claims copied into token and alias metadata, by metadata key."},
	"user_claim":              {Type: framework.TypeString, Description: "Claim naming the user: the entity alias."},
	"user_claim_json_pointer": {Type: framework.TypeBool, Description: "Read user_claim as a JSON pointer."},
	"groups_claim":            {Type: framework.TypeString, Description: "Claim listing the user's groups: external group aliases."},
	"clock_skew_leeway":       {Type: framework.TypeString, Description: "Leeway on exp, nbf and iat (seconds; -1 for none)."},
	"expiration_leeway":       {Type: framework.TypeString, Description: "Lifetime given a token without exp (seconds; -1 for none)."},
	"not_before_leeway":       {Type: framework.TypeString, Description: "Leeway before exp for a token without nbf or iat (seconds; -1 for none)."},
	"allowed_redirect_uris":   {Type: framework.TypeStringSlice, Description: "Browser flow redirect URIs (not supported)."},
	"oidc_scopes":             {Type: framework.TypeStringSlice, Description: "Browser flow scopes (not supported)."},
	"verbose_oidc_logging":    {Type: framework.TypeBool, Description: "Browser flow logging (not supported)."},
	"max_age":                 {Type: framework.TypeDuration, Description: "Browser flow max_age (not supported)."},
}, "policies", "ttl", "max_ttl", "period", "bound_cidrs")

type roleInput struct {
	RoleType             *string            `field:"role_type"`
	BoundAudiences       *[]string          `field:"bound_audiences"`
	BoundSubject         *string            `field:"bound_subject"`
	BoundClaimsType      *string            `field:"bound_claims_type"`
	BoundClaims          *map[string]any    `field:"bound_claims"`
	ClaimMappings        *map[string]string `field:"claim_mappings"`
	UserClaim            *string            `field:"user_claim"`
	UserClaimJSONPointer *bool              `field:"user_claim_json_pointer"`
	GroupsClaim          *string            `field:"groups_claim"`
	ClockSkewLeeway      *string            `field:"clock_skew_leeway"`
	ExpirationLeeway     *string            `field:"expiration_leeway"`
	NotBeforeLeeway      *string            `field:"not_before_leeway"`
	AllowedRedirectURIs  *[]string          `field:"allowed_redirect_uris"`
	OIDCScopes           *[]string          `field:"oidc_scopes"`
	VerboseOIDCLogging   *bool              `field:"verbose_oidc_logging"`
	MaxAge               *time.Duration     `field:"max_age"`
}

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern:    "role",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listRoles},
		Synopsis:   "List the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern:        "role/{name}",
		Fields:         roleFields,
		ExistenceCheck: b.roleExists,
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readRole,
			logical.CreateOperation: b.writeRole,
			logical.UpdateOperation: b.writeRole,
			logical.DeleteOperation: b.deleteRole,
		},
		Synopsis: "Manage a role.",
	}
}

func loadRole(ctx context.Context, req *framework.Request, name string) (*role, error) {
	return getJSON2[role](ctx, req.Storage, rolePrefix+strings.ToLower(name))
}

func (b *Backend) roleExists(ctx context.Context, req *framework.Request) (bool, error) {
	r, err := loadRole(ctx, req, req.Param("name"))
	return r != nil, err
}

func (b *Backend) listRoles(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return &logical.Response{Data: map[string]any{}}, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) deleteRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return nil, req.Storage.Delete(ctx, rolePrefix+strings.ToLower(req.Param("name")))
}

func secondsOf(d time.Duration) int64 { return int64(d / time.Second) }

func (b *Backend) readRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	r, err := loadRole(ctx, req, req.Param("name"))
	if err != nil || r == nil {
		return nil, err
	}
	d := r.Fields.Data()
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	var bound, mappings any
	if len(r.BoundClaims) > 0 {
		bound = r.BoundClaims
	}
	if len(r.ClaimMappings) > 0 {
		mappings = r.ClaimMappings
	}
	maps.Copy(d, map[string]any{
		"role_type":               r.RoleType,
		"bound_audiences":         orEmpty(r.BoundAudiences),
		"bound_subject":           r.BoundSubject,
		"bound_claims_type":       r.BoundClaimsType,
		"bound_claims":            bound,
		"claim_mappings":          mappings,
		"user_claim":              r.UserClaim,
		"user_claim_json_pointer": r.UserClaimJSONPointer,
		"groups_claim":            r.GroupsClaim,
		"clock_skew_leeway":       secondsOf(r.ClockSkewLeeway),
		"expiration_leeway":       secondsOf(r.ExpirationLeeway),
		"not_before_leeway":       secondsOf(r.NotBeforeLeeway),
		"allowed_redirect_uris":   orEmpty(r.AllowedRedirectURIs),
		"oidc_scopes":             orEmpty(r.OIDCScopes),
		"verbose_oidc_logging":    r.VerboseOIDCLogging,
		"max_age":                 secondsOf(r.MaxAge),
	})
	return &logical.Response{Data: d}, nil
}

// parseLeeway reads a leeway: whole seconds (-1 disables) or a duration.
func parseLeeway(name, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= -1 && n < 1<<31 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= -time.Second {
		return d, nil
	}
	return 0, logical.InvalidRequest("invalid value for field %q: expected a number of seconds", name)
}

// normalizeList reads a claim or bound claim value as a list of scalars.
func normalizeList(raw any) ([]any, bool) {
	switch v := raw.(type) {
	case []any:
		return v, true
	case string, bool, json.Number:
		return []any{v}, true
	case float64:
		return []any{json.Number(strconv.FormatFloat(v, 'f', -1, 64))}, true
	}
	return nil, false
}

func (b *Backend) writeRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := strings.ToLower(req.Param("name"))
	var in roleInput
	var tok tokenfields.Input
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&tok); err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{BoundClaimsType: boundClaimString, ClockSkewLeeway: defaultClockSkew,
			ExpirationLeeway: defaultLeeway, NotBeforeLeeway: defaultLeeway}
	}
	r.RoleType = roleTypeOIDC
	if in.RoleType != nil && *in.RoleType != "" {
		r.RoleType = *in.RoleType
	}
	if r.RoleType != roleTypeJWT && r.RoleType != roleTypeOIDC {
		return nil, logical.InvalidRequest("invalid 'role_type': %s", r.RoleType)
	}
	if err := r.Fields.Apply(tok); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		name string
		in   *string
		out  *time.Duration
	}{
		{"clock_skew_leeway", in.ClockSkewLeeway, &r.ClockSkewLeeway},
		{"expiration_leeway", in.ExpirationLeeway, &r.ExpirationLeeway},
		{"not_before_leeway", in.NotBeforeLeeway, &r.NotBeforeLeeway},
	} {
		if l.in != nil {
			if *l.out, err = parseLeeway(l.name, *l.in); err != nil {
				return nil, err
			}
		}
	}
	if in.BoundAudiences != nil {
		r.BoundAudiences = *in.BoundAudiences
	}
	if in.BoundSubject != nil {
		r.BoundSubject = *in.BoundSubject
	}
	if in.VerboseOIDCLogging != nil {
		r.VerboseOIDCLogging = *in.VerboseOIDCLogging
	}
	if in.MaxAge != nil {
		r.MaxAge = *in.MaxAge
	}
	if in.BoundClaimsType != nil {
		r.BoundClaimsType = *in.BoundClaimsType
	}
	if r.BoundClaimsType == "" {
		r.BoundClaimsType = boundClaimString
	}
	if r.BoundClaimsType != boundClaimString && r.BoundClaimsType != boundClaimGlob {
		return nil, logical.InvalidRequest("invalid 'bound_claims_type': %s", r.BoundClaimsType)
	}
	if in.BoundClaims != nil {
		r.BoundClaims = *in.BoundClaims
	}
	for _, v := range r.BoundClaims {
		vals, ok := normalizeList(v)
		if !ok {
			return nil, logical.InvalidRequest("claim is not a string or list")
		}
		if r.BoundClaimsType == boundClaimGlob {
			for _, cv := range vals {
				if _, ok := cv.(string); !ok {
					return nil, logical.InvalidRequest("claim is not a string")
				}
			}
		}
	}
	if in.ClaimMappings != nil {
		targets := map[string]bool{}
		for _, key := range *in.ClaimMappings {
			if slices.Contains(reservedMetadata, key) {
				return nil, logical.InvalidRequest("metadata key %q is reserved and may not be a mapping destination", key)
			}
			if targets[key] {
				return nil, logical.InvalidRequest("multiple keys are mapped to metadata key %q", key)
			}
			targets[key] = true
		}
		r.ClaimMappings = *in.ClaimMappings
	}
	if in.UserClaim != nil {
		r.UserClaim = *in.UserClaim
	}
	if r.UserClaim == "" {
		return nil, logical.InvalidRequest("a user claim must be defined on the role")
	}
	if in.UserClaimJSONPointer != nil {
		r.UserClaimJSONPointer = *in.UserClaimJSONPointer
	}
	if in.GroupsClaim != nil {
		r.GroupsClaim = *in.GroupsClaim
	}
	if in.OIDCScopes != nil {
		r.OIDCScopes = *in.OIDCScopes
	}
	if in.AllowedRedirectURIs != nil {
		r.AllowedRedirectURIs = *in.AllowedRedirectURIs
	}
	if r.RoleType == roleTypeOIDC && len(r.AllowedRedirectURIs) == 0 {
		return nil, logical.InvalidRequest("'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.")
	}
	if r.RoleType == roleTypeJWT && len(r.BoundAudiences) == 0 && len(r.BoundCIDRs) == 0 &&
		r.BoundSubject == "" && len(r.BoundClaims) == 0 {
		return nil, logical.InvalidRequest("must have at least one bound constraint when creating/updating a role")
	}
	return nil, putJSON(ctx, req.Storage, rolePrefix+name, r)
}
