package tokenfields

import (
	"slices"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// decode runs raw request data through the schema, as a handler would.
func decode(t *testing.T, data map[string]any) (Input, error) {
	t.Helper()
	var in Input
	_, err := framework.Decode(AddSchema(nil, "policies", "ttl", "max_ttl", "period", "bound_cidrs"), data, &in)
	return in, err
}

func TestApply(t *testing.T) {
	tests := map[string]struct {
		data map[string]any
		want Fields
		err  string
	}{
		"durations as text and seconds": {
			data: map[string]any{"token_ttl": "1h", "token_max_ttl": 7200, "token_period": "30m", "token_explicit_max_ttl": "3h"},
			want: Fields{TTL: time.Hour, MaxTTL: 2 * time.Hour, Period: 30 * time.Minute, ExplicitMaxTTL: 3 * time.Hour},
		},
		"lists as comma string and array": {
			data: map[string]any{"token_policies": " B, a,b ", "token_bound_cidrs": []any{"10.0.0.0/8", "192.168.1.1"}},
			want: Fields{Policies: []string{"a", "b"}, BoundCIDRs: []string{"10.0.0.0/8", "192.168.1.1"}},
		},
		"legacy names": {
			data: map[string]any{"policies": "x", "ttl": "5m", "max_ttl": "10m", "period": 60, "bound_cidrs": "10.0.0.1"},
			want: Fields{Policies: []string{"x"}, TTL: 5 * time.Minute, MaxTTL: 10 * time.Minute, Period: time.Minute, BoundCIDRs: []string{"10.0.0.1"}},
		},
		"type and flags": {
			data: map[string]any{"token_type": "Batch", "token_no_default_policy": "true", "token_num_uses": "3"},
			want: Fields{Type: TypeBatch, NoDefaultPolicy: true, NumUses: 3},
		},
		"default type stored empty": {data: map[string]any{"token_type": "default"}, want: Fields{}},
		"both ttl spellings":        {data: map[string]any{"ttl": 1, "token_ttl": 1}, err: `"token_ttl" and "ttl" cannot both be specified`},
		"negative ttl":              {data: map[string]any{"token_ttl": "-1s"}, err: "token_ttl cannot be negative"},
		"negative uses":             {data: map[string]any{"token_num_uses": -2}, err: "token_num_uses cannot be negative"},
		"unknown type":              {data: map[string]any{"token_type": "magic"}, err: `invalid 'token_type' value "magic"`},
		"bad cidr":                  {data: map[string]any{"token_bound_cidrs": "x"}, err: `invalid token_bound_cidrs: "x" is not a CIDR block or IP address`},
		"ttl over max":              {data: map[string]any{"token_ttl": 10, "token_max_ttl": 5}, err: `"token_ttl" value must not be greater than "token_max_ttl" value`},
		"periodic batch":            {data: map[string]any{"token_type": "batch", "token_period": 5}, err: "'token_type' cannot be 'batch' when set to generate periodic tokens"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in, err := decode(t, tc.data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var f Fields
			err = f.Apply(in)
			if tc.err != "" {
				if e, ok := logical.AsError(err); !ok || e.Status() != 400 || e.Error() != tc.err {
					t.Fatalf("Apply error = %v, want 400 %q", err, tc.err)
				}
				if !equal(f, Fields{}) {
					t.Errorf("failed Apply changed the fields: %+v", f)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !equal(f, tc.want) {
				t.Errorf("got %+v, want %+v", f, tc.want)
			}
		})
	}
}

func equal(a, b Fields) bool {
	return slices.Equal(a.Policies, b.Policies) && slices.Equal(a.BoundCIDRs, b.BoundCIDRs) &&
		a.TTL == b.TTL && a.MaxTTL == b.MaxTTL && a.ExplicitMaxTTL == b.ExplicitMaxTTL && a.Period == b.Period &&
		a.NoDefaultPolicy == b.NoDefaultPolicy && a.NumUses == b.NumUses && a.Type == b.Type
}

func TestFillAuth(t *testing.T) {
	tests := map[string]struct {
		f             Fields
		maxTTL        time.Duration
		tokenPolicies []string
	}{
		"default policy added by core": {f: Fields{Policies: []string{"a"}, MaxTTL: time.Hour}, maxTTL: time.Hour},
		"no default policy":            {f: Fields{Policies: []string{"a"}, NoDefaultPolicy: true}, tokenPolicies: []string{"a"}},
		"no default, no policies":      {f: Fields{NoDefaultPolicy: true}, tokenPolicies: []string{}},
		"explicit max caps max":        {f: Fields{MaxTTL: time.Hour, ExplicitMaxTTL: time.Minute}, maxTTL: time.Minute},
		"explicit max alone":           {f: Fields{ExplicitMaxTTL: time.Minute}, maxTTL: time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var a logical.Auth
			tc.f.FillAuth(&a)
			if a.MaxTTL != tc.maxTTL {
				t.Errorf("MaxTTL = %v, want %v", a.MaxTTL, tc.maxTTL)
			}
			if (a.TokenPolicies == nil) != (tc.tokenPolicies == nil) || !slices.Equal(a.TokenPolicies, tc.tokenPolicies) {
				t.Errorf("TokenPolicies = %#v, want %#v", a.TokenPolicies, tc.tokenPolicies)
			}
			if a.Policies == nil {
				t.Error("Policies is nil")
			}
		})
	}
}

func TestData(t *testing.T) {
	d := Fields{TTL: 90 * time.Second}.Data()
	if d["token_ttl"] != int64(90) || d["token_type"] != "default" || d["token_policies"] == nil || len(d) != 9 {
		t.Errorf("Data = %v", d)
	}
}

func TestCIDRs(t *testing.T) {
	tests := map[string]struct {
		remote string
		cidrs  []string
		want   bool
	}{
		"no restriction":      {remote: "1.2.3.4:5", want: true},
		"inside":              {remote: "10.1.2.3:5", cidrs: []string{"10.0.0.0/8"}, want: true},
		"outside":             {remote: "11.1.2.3:5", cidrs: []string{"10.0.0.0/8"}},
		"bare address match":  {remote: "10.0.0.1:5", cidrs: []string{"10.0.0.1"}, want: true},
		"no port":             {remote: "10.0.0.1", cidrs: []string{"10.0.0.0/24"}, want: true},
		"ipv6":                {remote: "[2001:db8::1]:443", cidrs: []string{"2001:db8::/32"}, want: true},
		"ipv4-mapped ipv6":    {remote: "[::ffff:10.0.0.1]:1", cidrs: []string{"10.0.0.0/8"}, want: true},
		"empty remote":        {remote: "", cidrs: []string{"0.0.0.0/0"}},
		"unparseable address": {remote: "pipe", cidrs: []string{"0.0.0.0/0"}},
	}
	for name, tc := range tests {
		if got := AddrAllowed(tc.remote, tc.cidrs); got != tc.want {
			t.Errorf("%s: AddrAllowed(%q, %v) = %v, want %v", name, tc.remote, tc.cidrs, got, tc.want)
		}
	}
	subsets := map[string]struct {
		inner, outer []string
		want         bool
	}{
		"empty outer":  {inner: []string{"1.0.0.0/8"}, want: true},
		"narrower":     {inner: []string{"10.1.0.0/16", "10.2.0.1"}, outer: []string{"10.0.0.0/8"}, want: true},
		"wider":        {inner: []string{"0.0.0.0/0"}, outer: []string{"10.0.0.0/8"}},
		"disjoint":     {inner: []string{"11.0.0.0/8"}, outer: []string{"10.0.0.0/8"}},
		"empty inner":  {outer: []string{"10.0.0.0/8"}, want: true},
		"same network": {inner: []string{"10.0.0.0/8"}, outer: []string{"10.0.0.0/8"}, want: true},
	}
	for name, tc := range subsets {
		if got, err := Subset(tc.inner, tc.outer); err != nil || got != tc.want {
			t.Errorf("%s: Subset = %v, %v, want %v", name, got, err, tc.want)
		}
	}
}
