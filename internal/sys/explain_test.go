package sys_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestPolicyExplainWire drives sys/policy/explain and explain-self with a
// real client: the decision, the deciding rule and each policy's sentence.
func TestPolicyExplainWire(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().PutPolicy("app-read", `path "secret/data/app/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("app-deny", `path "secret/data/app/admin" { capabilities = ["deny"] }`); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app-read", "app-deny"}})
	if err != nil {
		t.Fatal(err)
	}
	user := sec.Auth.ClientToken

	// The root token explains the user's token.
	resp, err := c.Logical().Write("sys/policy/explain", map[string]any{"path": "secret/data/app/admin", "operation": "read", "token": user})
	if err != nil {
		t.Fatal(err)
	}
	d := resp.Data
	if d["decision"] != "deny" || d["allowed"] != false || !strings.Contains(d["reason"].(string), "denied") {
		t.Errorf("decision = %v", d)
	}
	rule, _ := d["rule"].(map[string]any)
	if rule["pattern"] != "secret/data/app/admin" || rule["kind"] != "exact" || !strings.HasPrefix(rule["why"].(string), "deny wins") {
		t.Errorf("rule = %v", rule)
	}
	pols, _ := d["policies"].([]any)
	byName := map[string]map[string]any{}
	for _, p := range pols {
		m := p.(map[string]any)
		byName[m["name"].(string)] = m
	}
	if p := byName["app-read"]; p == nil || !strings.HasPrefix(p["why"].(string), "outranked") {
		t.Errorf("app-read = %v", p)
	}
	if p := byName["app-deny"]; p == nil || p["decides"] != true {
		t.Errorf("app-deny = %v", p)
	}
	if p := byName["default"]; p == nil || p["match"] != nil {
		t.Errorf("default = %v", p)
	}

	// Named policies, no token.
	resp, err = c.Logical().Write("sys/policy/explain", map[string]any{"path": "secret/data/app/x", "operation": "list", "policies": []string{"app-read"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["decision"] != "allow" {
		t.Errorf("list with app-read = %v", resp.Data)
	}

	// The user explains itself through explain-self, which the default
	// policy grants, but may not explain others.
	uc, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	uc.SetToken(user)
	resp, err = uc.Logical().Write("sys/policy/explain-self", map[string]any{"path": "secret/data/app/conf"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["decision"] != "allow" || resp.Data["operation"] != "read" {
		t.Errorf("explain-self = %v", resp.Data)
	}
	if _, err := uc.Logical().Write("sys/policy/explain", map[string]any{"path": "a", "policies": "root"}); err == nil {
		t.Error("a token without a grant on sys/policy/explain could explain other policies")
	}

	// Bad input is a 400 in Vault's envelope.
	for _, body := range []map[string]any{
		{"operation": "read"},
		{"path": "a", "operation": "fly"},
		{"path": "a", "token": user, "policies": "x"},
	} {
		code, out, _ := call(t, s, http.MethodPost, "sys/policy/explain", s.RootToken, body)
		if code != http.StatusBadRequest || out["errors"] == nil {
			t.Errorf("%v: %d %v", body, code, out)
		}
	}
	// An unknown token is a 403.
	code, _, _ := call(t, s, http.MethodPost, "sys/policy/explain", s.RootToken, map[string]any{"path": "a", "token": "hvs.nope"})
	if code != http.StatusForbidden {
		t.Errorf("unknown token: %d", code)
	}
}
