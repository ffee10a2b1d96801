package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/ryanuber/go-glob"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.Field{
			"role": {Type: framework.TypeString, Description: "Role to log in with (default_role when empty)."},
			"jwt":  {Type: framework.TypeString, Description: "The signed JWT."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.login,
			logical.CreateOperation: b.login,
		},
		Synopsis: "Log in with a signed JWT.",
	}
}

func (b *Backend) login(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Role string `field:"role"`
		JWT  string `field:"jwt"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	cfg, keys, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil || keys == nil {
		return nil, logical.InvalidRequest("could not load configuration")
	}
	name := in.Role
	if name == "" {
		name = cfg.DefaultRole
	}
	if name == "" {
		return nil, logical.InvalidRequest("missing role")
	}
	r, err := loadRole(ctx, req, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("role %q could not be found", name)
	}
	if r.RoleType == roleTypeOIDC {
		return nil, logical.InvalidRequest("role with oidc role_type is not allowed")
	}
	if in.JWT == "" {
		return nil, logical.InvalidRequest("missing token")
	}
	if len(r.BoundCIDRs) > 0 {
		remote := ""
		if req.Connection != nil {
			remote = req.Connection.RemoteAddr
		}
		if !tokenfields.AddrAllowed(remote, r.BoundCIDRs) {
			return nil, logical.ErrPermissionDenied
		}
	}
	claims, err := validate(ctx, in.JWT, keys, expected{
		Issuer: cfg.BoundIssuer, Subject: r.BoundSubject, Audiences: r.BoundAudiences, Algs: cfg.algs(),
		ClockSkew: r.ClockSkewLeeway, Expiration: r.ExpirationLeeway, NotBefore: r.NotBeforeLeeway, Now: b.now(),
	})
	if err != nil {
		return nil, logical.InvalidRequest("error validating token: %s", err.Error())
	}
	if len(r.BoundAudiences) == 0 {
		if aud, _ := audiences(claims); len(aud) > 0 {
			return nil, logical.InvalidRequest("audience claim found in JWT but no audiences bound to the role")
		}
	}
	alias, meta, groups, err := identityOf(claims, name, r)
	if err != nil {
		return nil, logical.InvalidRequest("%s", err.Error())
	}
	if err := checkBoundClaims(r.BoundClaimsType, r.BoundClaims, claims); err != nil {
		return nil, logical.InvalidRequest("error validating claims: %s", err.Error())
	}
	auth := &logical.Auth{
		DisplayName:   alias,
		Alias:         alias,
		AliasMetadata: meta,
		GroupAliases:  groups,
		Metadata:      maps.Clone(meta),
		Renewable:     true,
	}
	r.Fields.FillAuth(auth)
	return &logical.Response{Auth: auth}, nil
}

// identityOf reads the alias name (user_claim), the metadata
// (claim_mappings plus the role) and the group aliases (groups_claim).
func identityOf(claims map[string]any, roleName string, r *role) (alias string, meta map[string]string, groups []string, err error) {
	var raw any
	if r.UserClaimJSONPointer {
		raw = claim(claims, r.UserClaim)
	} else {
		raw = claims[r.UserClaim]
	}
	if raw == nil {
		return "", nil, nil, fmt.Errorf("claim %q not found in token", r.UserClaim)
	}
	alias, ok := raw.(string)
	if !ok {
		return "", nil, nil, fmt.Errorf("claim %q could not be converted to string", r.UserClaim)
	}
	meta = map[string]string{}
	for source, target := range r.ClaimMappings {
		v := claim(claims, source)
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", nil, nil, fmt.Errorf("error converting claim '%s' to string", source)
		}
		meta[target] = s
	}
	meta["role"] = roleName
	if r.GroupsClaim == "" {
		return alias, meta, nil, nil
	}
	list, ok := normalizeList(claim(claims, r.GroupsClaim))
	if !ok {
		return "", nil, nil, fmt.Errorf("%q claim could not be converted to string list", r.GroupsClaim)
	}
	for _, g := range list {
		s, ok := g.(string)
		if !ok {
			return "", nil, nil, errors.New("value in groups claim could not be parsed as string")
		}
		if s != "" {
			groups = append(groups, s)
		}
	}
	return alias, meta, groups, nil
}

// scalarString is a claim value in the form bound claims compare, and
// its kind ('s'tring, 'b'ool, 'n'umber): exact matching is typed, so the
// string "true" does not match the bool.
func scalarString(v any) (string, byte, bool) {
	switch x := v.(type) {
	case string:
		return x, 's', true
	case bool:
		return strconv.FormatBool(x), 'b', true
	case json.Number:
		return x.String(), 'n', true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), 'n', true
	}
	return "", 0, false
}

// checkBoundClaims checks that each bound claim (a name or a JSON pointer)
// has one of its values in the token, exactly or by glob.
func checkBoundClaims(typ string, bound map[string]any, claims map[string]any) error {
	for name, want := range bound {
		got := claim(claims, name)
		if got == nil {
			return fmt.Errorf("claim %q is missing", name)
		}
		gotVals, ok := normalizeList(got)
		if !ok {
			return fmt.Errorf("claim %q is not a string, bool, int or list", name)
		}
		wantVals, ok := normalizeList(want)
		if !ok {
			return fmt.Errorf("bound claim %q is not a string, bool, int or list", name)
		}
		if !matchAny(typ == boundClaimGlob, wantVals, gotVals) {
			return fmt.Errorf("claim %q does not match any associated bound claim values", name)
		}
	}
	return nil
}

func matchAny(useGlob bool, want, got []any) bool {
	for _, w := range want {
		ws, wk, ok := scalarString(w)
		if !ok {
			continue
		}
		for _, g := range got {
			gs, gk, ok := scalarString(g)
			switch {
			case !ok:
			case useGlob && gk == 's' && glob.Glob(ws, gs):
				return true
			case !useGlob && wk == gk && ws == gs:
				return true
			}
		}
	}
	return false
}
