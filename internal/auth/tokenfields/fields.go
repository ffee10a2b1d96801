package tokenfields

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// The token types a role may ask for. TypeDefault leaves the choice to the
// mount's configuration.
const (
	TypeDefault = "default"
	TypeService = "service"
	TypeBatch   = "batch"
)

// Fields are the token settings of one user, role or certificate, in the
// form they are stored (as JSON) and applied.
type Fields struct {
	TTL             time.Duration `json:"token_ttl,omitempty"`
	MaxTTL          time.Duration `json:"token_max_ttl,omitempty"`
	ExplicitMaxTTL  time.Duration `json:"token_explicit_max_ttl,omitempty"`
	Period          time.Duration `json:"token_period,omitempty"`
	Policies        []string      `json:"token_policies,omitempty"`
	BoundCIDRs      []string      `json:"token_bound_cidrs,omitempty"`
	NoDefaultPolicy bool          `json:"token_no_default_policy,omitempty"`
	NumUses         int           `json:"token_num_uses,omitempty"`
	Type            string        `json:"token_type,omitempty"`
}

// Input is the decoded request form of the token fields: nil means "not
// given, keep what is stored". Decode it with framework.Request.Decode on a
// path whose schema came from AddSchema.
type Input struct {
	TTL             *time.Duration `field:"token_ttl"`
	MaxTTL          *time.Duration `field:"token_max_ttl"`
	ExplicitMaxTTL  *time.Duration `field:"token_explicit_max_ttl"`
	Period          *time.Duration `field:"token_period"`
	Policies        *[]string      `field:"token_policies"`
	BoundCIDRs      *[]string      `field:"token_bound_cidrs"`
	NoDefaultPolicy *bool          `field:"token_no_default_policy"`
	NumUses         *int           `field:"token_num_uses"`
	Type            *string        `field:"token_type"`

	LegacyPolicies   *[]string      `field:"policies"`
	LegacyTTL        *time.Duration `field:"ttl"`
	LegacyMaxTTL     *time.Duration `field:"max_ttl"`
	LegacyPeriod     *time.Duration `field:"period"`
	LegacyBoundCIDRs *[]string      `field:"bound_cidrs"`
}

var schema = map[string]*framework.Field{
	"token_ttl":               {Type: framework.TypeDuration, Description: "Initial TTL of issued tokens."},
	"token_max_ttl":           {Type: framework.TypeDuration, Description: "Maximum lifetime of issued tokens, renewals included."},
	"token_explicit_max_ttl":  {Type: framework.TypeDuration, Description: "Hard cap on the lifetime of issued tokens, over any system maximum."},
	"token_period":            {Type: framework.TypeDuration, Description: "Issue periodic tokens renewable by this period forever."},
	"token_policies":          {Type: framework.TypeStringSlice, Description: "Policies of issued tokens."},
	"token_bound_cidrs":       {Type: framework.TypeStringSlice, Description: "CIDR blocks issued tokens may be used from."},
	"token_no_default_policy": {Type: framework.TypeBool, Description: "Do not add the default policy to issued tokens."},
	"token_num_uses":          {Type: framework.TypeInt, Description: "Uses of an issued token; 0 is unlimited."},
	"token_type":              {Type: framework.TypeString, Description: `Type of issued tokens: "default", "service" or "batch".`},
}

var legacySchema = map[string]*framework.Field{
	"policies":    {Type: framework.TypeStringSlice, Description: `Deprecated: use "token_policies".`},
	"ttl":         {Type: framework.TypeDuration, Description: `Deprecated: use "token_ttl".`},
	"max_ttl":     {Type: framework.TypeDuration, Description: `Deprecated: use "token_max_ttl".`},
	"period":      {Type: framework.TypeDuration, Description: `Deprecated: use "token_period".`},
	"bound_cidrs": {Type: framework.TypeStringSlice, Description: `Deprecated: use "token_bound_cidrs".`},
}

// AddSchema returns a copy of fields extended with the token fields and
// with the named legacy fields ("policies", "ttl", "max_ttl", "period",
// "bound_cidrs"); other legacy names are ignored.
func AddSchema(fields map[string]*framework.Field, legacy ...string) map[string]*framework.Field {
	out := maps.Clone(fields)
	if out == nil {
		out = make(map[string]*framework.Field, len(schema)+len(legacy))
	}
	maps.Copy(out, schema)
	for _, name := range legacy {
		if f, ok := legacySchema[name]; ok {
			out[name] = f
		}
	}
	return out
}

// Apply merges the fields given in in into f. On error f is unchanged and
// the error is a 400 *logical.Error.
func (f *Fields) Apply(in Input) error {
	next := *f
	var err error
	if next.TTL, err = pickDuration(next.TTL, in.TTL, in.LegacyTTL, "ttl"); err != nil {
		return err
	}
	if next.MaxTTL, err = pickDuration(next.MaxTTL, in.MaxTTL, in.LegacyMaxTTL, "max_ttl"); err != nil {
		return err
	}
	if next.Period, err = pickDuration(next.Period, in.Period, in.LegacyPeriod, "period"); err != nil {
		return err
	}
	if next.ExplicitMaxTTL, err = pickDuration(next.ExplicitMaxTTL, in.ExplicitMaxTTL, nil, "explicit_max_ttl"); err != nil {
		return err
	}
	policies, err := pick(in.Policies, in.LegacyPolicies, "policies")
	if err != nil {
		return err
	}
	if policies != nil {
		next.Policies = NormalizePolicies(*policies)
	}
	cidrs, err := pick(in.BoundCIDRs, in.LegacyBoundCIDRs, "bound_cidrs")
	if err != nil {
		return err
	}
	if cidrs != nil {
		if _, err := ParseCIDRs(*cidrs); err != nil {
			return logical.InvalidRequest("invalid token_bound_cidrs: %v", err)
		}
		next.BoundCIDRs = slices.Clone(*cidrs)
	}
	if in.NoDefaultPolicy != nil {
		next.NoDefaultPolicy = *in.NoDefaultPolicy
	}
	if in.NumUses != nil {
		if *in.NumUses < 0 {
			return logical.InvalidRequest("token_num_uses cannot be negative")
		}
		next.NumUses = *in.NumUses
	}
	if in.Type != nil {
		switch t := strings.ToLower(strings.TrimSpace(*in.Type)); t {
		case "", TypeDefault:
			next.Type = ""
		case TypeService, TypeBatch:
			next.Type = t
		default:
			return logical.InvalidRequest("invalid 'token_type' value %q", *in.Type)
		}
	}
	if next.MaxTTL > 0 && next.TTL > next.MaxTTL {
		return logical.InvalidRequest(`"token_ttl" value must not be greater than "token_max_ttl" value`)
	}
	if next.Type == TypeBatch && next.Period > 0 {
		return logical.InvalidRequest("'token_type' cannot be 'batch' when set to generate periodic tokens")
	}
	*f = next
	return nil
}

// pick returns the value given under the token_ name or, failing that,
// under the legacy name; both at once is a client error.
func pick[T any](modern, legacy *T, name string) (*T, error) {
	if modern != nil && legacy != nil {
		return nil, logical.InvalidRequest(`"token_%s" and %q cannot both be specified`, name, name)
	}
	if modern != nil {
		return modern, nil
	}
	return legacy, nil
}

func pickDuration(cur time.Duration, modern, legacy *time.Duration, name string) (time.Duration, error) {
	v, err := pick(modern, legacy, name)
	if err != nil || v == nil {
		return cur, err
	}
	if *v < 0 {
		return cur, logical.InvalidRequest("token_%s cannot be negative", name)
	}
	return *v, nil
}

// NormalizePolicies trims, lower-cases, de-duplicates and sorts policy
// names, dropping empty ones, as Vault does. The result is never nil.
func NormalizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Data is the read form of f: Vault's token_ keys, durations in seconds,
// lists never null.
func (f Fields) Data() map[string]any {
	typ := f.Type
	if typ == "" {
		typ = TypeDefault
	}
	return map[string]any{
		"token_ttl":               seconds(f.TTL),
		"token_max_ttl":           seconds(f.MaxTTL),
		"token_explicit_max_ttl":  seconds(f.ExplicitMaxTTL),
		"token_period":            seconds(f.Period),
		"token_policies":          nonNil(f.Policies),
		"token_bound_cidrs":       nonNil(f.BoundCIDRs),
		"token_no_default_policy": f.NoDefaultPolicy,
		"token_num_uses":          f.NumUses,
		"token_type":              typ,
	}
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// FillAuth copies f into the auth block of a login response. With
// token_no_default_policy set, TokenPolicies carries the policies as given
// (never nil), which tells the core not to add "default"; otherwise
// TokenPolicies stays nil and the core adds it.
//
// logical.Auth has no explicit-max-TTL field, so token_explicit_max_ttl
// caps MaxTTL instead, which is how the core enforces it.
func (f Fields) FillAuth(a *logical.Auth) {
	a.Policies = slices.Clone(f.Policies)
	if a.Policies == nil {
		a.Policies = []string{}
	}
	a.TokenPolicies = nil
	if f.NoDefaultPolicy {
		a.TokenPolicies = slices.Clone(a.Policies)
	}
	a.TTL = f.TTL
	a.MaxTTL = f.MaxTTL
	if f.ExplicitMaxTTL > 0 && (a.MaxTTL == 0 || f.ExplicitMaxTTL < a.MaxTTL) {
		a.MaxTTL = f.ExplicitMaxTTL
	}
	a.Period = f.Period
	a.NumUses = f.NumUses
	a.BoundCIDRs = slices.Clone(f.BoundCIDRs)
	a.TokenType = f.Type
}
