package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestParseErrors(t *testing.T) {
	tests := map[string]struct {
		text string
		want string // substring of the message, position included
	}{
		"malformed HCL":                  {text: "path \"a\" {\n  capabilities = [\"read\"\n}", want: "line 3, column 1"},
		"unterminated string":            {text: "path \"a {\n}", want: "line 1, column 10: literal not terminated"},
		"unknown capability":             {text: "path \"a\" {\n  capabilities = [\"read\", \"reed\"]\n}", want: `line 2, column 27: path "a": invalid capability "reed"`},
		"capability names are lowercase": {text: `path "a" { capabilities = ["Read"] }`, want: `line 1, column 28: path "a": invalid capability "Read"`},
		"unknown key in path":            {text: "path \"a\" {\n  capabilities = []\n  colour = \"red\"\n}", want: `line 3, column 3: path "a": unknown key "colour"`},
		"unknown top-level key":          {text: "\n\npolicy \"a\" {}", want: `line 3, column 1: unknown key "policy"`},
		"empty path":                     {text: `path "" { capabilities = ["read"] }`, want: `line 1, column 6: path "": empty path`},
		"slash only path":                {text: `path "/" { capabilities = ["read"] }`, want: "empty path"},
		"path without a name":            {text: `path { capabilities = ["read"] }`, want: "line 1, column 1: path stanza needs a path"},
		"invalid legacy policy":          {text: "path \"a\" {\n policy = \"admin\"\n}", want: `line 2, column 11: path "a": invalid policy "admin"`},
		"capabilities not a list":        {text: `path "a" { capabilities = { read = true } }`, want: "expected a list of strings"},
		"plus star is forbidden":         {text: `path "a/+*" { capabilities = ["read"] }`, want: "'+*' is forbidden"},
		"unknown template":               {text: `path "a/{{identity.entity.email}}" { capabilities = ["read"] }`, want: `unknown template "identity.entity.email"`},
		"unbalanced template":            {text: `path "a/{{identity.entity.id" { capabilities = ["read"] }`, want: "unbalanced template braces"},
		"stray template close":           {text: `path "a/}}" { capabilities = ["read"] }`, want: "unbalanced template braces"},
		"bad duration":                   {text: "path \"a\" {\n  min_wrapping_ttl = \"soon\"\n}", want: `line 2, column 22: path "a": invalid duration "soon"`},
		"negative duration":              {text: `path "a" { max_wrapping_ttl = "-1s" }`, want: "must not be negative"},
		"max below min":                  {text: `path "a" { min_wrapping_ttl = "1h" max_wrapping_ttl = "1m" }`, want: "max_wrapping_ttl cannot be less than min_wrapping_ttl"},
		"parameter values not literals":  {text: `path "a" { allowed_parameters = { x = [{}] } }`, want: "expected a string, number or bool"},
		"duplicate attribute":            {text: "path \"a\" {\n  capabilities = []\n  capabilities = [\"read\"]\n}", want: "already set"},
		"control characters in path":     {text: `path "a\u0001" { capabilities = ["read"] }`, want: "control characters"},
		"enterprise key":                 {text: `path "a" { control_group = {} }`, want: `"control_group" is not supported`},
		"json unknown capability":        {text: `{"path": {"a": {"capabilities": ["write"]}}}`, want: `path "a": invalid capability "write"`},
		"json syntax error":              {text: "{\"path\": {\"a\": {\n  \"capabilities\": [\"read\"}}}", want: "line 2, column 26: invalid character '}'"},
		"number overflow":                {text: `path "a" { max_wrapping_ttl = 99999999999999999999 }`, want: "failed to parse policy"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Parse("p", tc.text)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", p)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			le, ok := logical.AsError(err)
			if !ok || le.Kind != logical.KindInvalidRequest || le.Error() != err.Error() {
				t.Errorf("logical.AsError = %v, %v; want a 400 with the same message", le, ok)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	want := []Rule{{
		Path:               "secret/*",
		Capabilities:       Read | List | Update,
		AllowedParameters:  map[string][]string{"env": {"dev", "stage-*"}, "tags": {}},
		DeniedParameters:   map[string][]string{"admin": {}},
		RequiredParameters: []string{"owner"},
		MinWrappingTTL:     time.Minute,
		MaxWrappingTTL:     time.Hour,
	}}
	forms := map[string]string{
		"hcl": `
# comments are fine
path "/secret/*" {
  capabilities = ["read", "list"]
  policy = "read"
  allowed_parameters = {
    "ENV" = ["stage-*", "dev", "dev"]
    tags = []
  }
  denied_parameters { admin = [] }
  required_parameters = ["Owner"]
  min_wrapping_ttl = 60
  max_wrapping_ttl = "1h"
}
path "secret/*" { capabilities = ["update"] }
`,
		"json": `{
  "path": {
    "secret/*": {
      "capabilities": ["read", "list", "update"],
      "allowed_parameters": {"env": ["dev", "stage-*"], "tags": []},
      "denied_parameters": {"admin": []},
      "required_parameters": ["owner"],
      "min_wrapping_ttl": "60",
      "max_wrapping_ttl": "3600s"
    }
  }
}`,
		"json with only nested objects": `{"path": {"secret/*": {"allowed_parameters": {"env": ["dev", "stage-*"], "tags": []},
  "denied_parameters": {"admin": []}}}, "name": "ignored"}`,
	}
	for name, text := range forms {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(" MyPolicy ", text)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != "mypolicy" {
				t.Errorf("Name = %q, want mypolicy", p.Name)
			}
			w := want
			if name == "json with only nested objects" {
				w = []Rule{{Path: "secret/*", AllowedParameters: want[0].AllowedParameters, DeniedParameters: want[0].DeniedParameters}}
			}
			if !reflect.DeepEqual(p.Rules, w) {
				t.Errorf("Rules = %#v\nwant %#v", p.Rules, w)
			}
		})
	}
}

func TestParseDenyDropsOtherSettings(t *testing.T) {
	p, err := Parse("p", `path "a" {
  capabilities = ["read", "deny"]
  allowed_parameters = { x = [] }
}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Rule{{Path: "a", Capabilities: Deny}}; !reflect.DeepEqual(p.Rules, want) {
		t.Errorf("Rules = %#v, want %#v", p.Rules, want)
	}
}

func TestStringIsCanonical(t *testing.T) {
	p, err := Parse("p", `path "b" { policy = "write" }
path "a/${x}" { capabilities = ["sudo", "read"] max_wrapping_ttl = 90 allowed_parameters = { "q\"" = [1.5, true] } }`)
	if err != nil {
		t.Fatal(err)
	}
	const want = `path "a/\u0024{x}" {
  capabilities = ["read", "sudo"]
  allowed_parameters = {
    "q\"" = ["1.5", "true"]
  }
  max_wrapping_ttl = "1m30s"
}

path "b" {
  capabilities = ["create", "delete", "list", "read", "update"]
}
`
	if got := p.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

func TestDefaultPolicyParses(t *testing.T) {
	p := builtin(DefaultName)
	a, err := NewACL(p.Render(alice))
	if err != nil {
		t.Fatal(err)
	}
	for path, op := range map[string]logical.Operation{
		"auth/token/lookup-self":        logical.ReadOperation,
		"auth/token/renew-self":         logical.UpdateOperation,
		"sys/capabilities-self":         logical.UpdateOperation,
		"cubbyhole/x":                   logical.CreateOperation,
		"sys/wrapping/unwrap":           logical.UpdateOperation,
		"sys/internal/ui/resultant-acl": logical.ReadOperation,
		"identity/entity/id/e-1":        logical.ReadOperation,
	} {
		if d := a.Allowed(op, path, nil, 0); !d.Allowed {
			t.Errorf("default policy refuses %s %s: %s", op, path, d.Reason)
		}
	}
	if d := a.Allowed(logical.ReadOperation, "secret/x", nil, 0); d.Allowed {
		t.Errorf("default policy allows reading secret/x")
	}
}
