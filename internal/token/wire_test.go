package token_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestRolePolicyGlobs pins allowed_policies_glob and
// disallowed_policies_glob of token roles: shown on read, enforced on
// create.
func TestRolePolicyGlobs(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if _, err := c.Logical().Write("auth/token/roles/apps", map[string]any{
		"allowed_policies_glob":    "app-*",
		"disallowed_policies_glob": []string{"app-admin*"},
	}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Logical().Read("auth/token/roles/apps")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Data["allowed_policies_glob"].([]any); !slices.Equal(got, []any{"app-*"}) {
		t.Errorf("allowed_policies_glob = %v", r.Data["allowed_policies_glob"])
	}
	if got, _ := r.Data["disallowed_policies_glob"].([]any); !slices.Equal(got, []any{"app-admin*"}) {
		t.Errorf("disallowed_policies_glob = %v", r.Data["disallowed_policies_glob"])
	}
	// A role without globs shows them as empty lists.
	if _, err := c.Logical().Write("auth/token/roles/plain", map[string]any{"orphan": true}); err != nil {
		t.Fatal(err)
	}
	r, _ = c.Logical().Read("auth/token/roles/plain")
	if got, ok := r.Data["allowed_policies_glob"].([]any); !ok || len(got) != 0 {
		t.Errorf("plain role allowed_policies_glob = %v; want []", r.Data["allowed_policies_glob"])
	}

	tests := map[string]struct {
		policies []string
		want     int
	}{
		"matches the glob":            {[]string{"app-web"}, 200},
		"outside the glob":            {[]string{"ops"}, http.StatusBadRequest},
		"matches the disallowed glob": {[]string{"app-admin-x"}, http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sec, err := c.Auth().Token().CreateWithRole(&api.TokenCreateRequest{Policies: tc.policies}, "apps")
			var re *api.ResponseError
			switch {
			case tc.want == 200 && err != nil:
				t.Fatalf("create: %v", err)
			case tc.want == 200 && !slices.Contains(sec.Auth.Policies, tc.policies[0]):
				t.Errorf("policies = %v", sec.Auth.Policies)
			case tc.want != 200 && (!errorAs(err, &re) || re.StatusCode != tc.want):
				t.Errorf("create = %v; want %d", err, tc.want)
			}
		})
	}
}

// TestLookupShapes pins the lease fields of lookups: a root token, which
// never expires, still has issue_time and renewable (false); a token on
// its last use reports num_uses -1.
func TestLookupShapes(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	self, err := c.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := self.Data["issue_time"].(string); !ok {
		t.Errorf("root issue_time = %v; want a time string", self.Data["issue_time"])
	}
	if v, ok := self.Data["renewable"]; !ok || v != false {
		t.Errorf("root renewable = %v (present %v); want false", v, ok)
	}
	if self.Data["expire_time"] != nil {
		t.Errorf("root expire_time = %v; want null", self.Data["expire_time"])
	}

	sec, err := c.Auth().Token().Create(&api.TokenCreateRequest{NumUses: 2, Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	lc.SetToken(sec.Auth.ClientToken)
	first, err := lc.Auth().Token().LookupSelf()
	if err != nil || first.Data["num_uses"] != jsonNumber("1") {
		t.Fatalf("first use: num_uses %v, %v; want 1", first.Data["num_uses"], err)
	}
	last, err := lc.Auth().Token().LookupSelf()
	if err != nil || last.Data["num_uses"] != jsonNumber("-1") {
		t.Fatalf("last use: num_uses %v, %v; want -1", last.Data["num_uses"], err)
	}
	if _, err := lc.Auth().Token().LookupSelf(); err == nil {
		t.Fatalf("a used-up token still works")
	}
}

// The API client decodes numbers as json.Number.
func jsonNumber(s string) json.Number { return json.Number(s) }

func errorAs(err error, re **api.ResponseError) bool { return errors.As(err, re) }
