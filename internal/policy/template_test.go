package policy

import (
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// TestTemplateParameters renders each of Vault's identity template
// parameters, and checks that a value that could widen a rule (glob, "+",
// path separators, "..", braces, control characters) drops the rule
// instead (BAD-INPUT row 8).
func TestTemplateParameters(t *testing.T) {
	svc := &Entity{
		ID: "e-1", Name: "svc", Metadata: map[string]string{"team": "blue"},
		Aliases:             map[string]string{"auth_jwt_1": "sub-1"},
		AliasIDs:            map[string]string{"auth_jwt_1": "a-1"},
		AliasMetadata:       map[string]map[string]string{"auth_jwt_1": {"env": "prod"}},
		AliasCustomMetadata: map[string]map[string]string{"auth_jwt_1": {"tier": "gold"}},
		GroupNames:          map[string]string{"g-1": "ops"},
		GroupIDs:            map[string]string{"ops": "g-1"},
	}
	evil := func(v string) *Entity {
		return &Entity{ID: v, Name: v, Metadata: map[string]string{"team": v},
			Aliases:       map[string]string{"auth_jwt_1": v},
			AliasMetadata: map[string]map[string]string{"auth_jwt_1": {"env": v}},
			GroupNames:    map[string]string{"g-1": v}, GroupIDs: map[string]string{"ops": v}}
	}
	tests := []struct {
		name     string
		template string
		entity   *Entity
		read     string // a path the rendered rule must allow ("" when none)
		deny     string // a path it must not allow
	}{
		{"entity id", "{{identity.entity.id}}", svc, "kv/e-1/x", "kv/e-2/x"},
		{"entity name", "{{identity.entity.name}}", svc, "kv/svc/x", "kv/other/x"},
		{"entity metadata", "{{identity.entity.metadata.team}}", svc, "kv/blue/x", "kv/red/x"},
		{"missing metadata key", "{{identity.entity.metadata.nope}}", svc, "", "kv//x"},
		{"alias name", "{{identity.entity.aliases.auth_jwt_1.name}}", svc, "kv/sub-1/x", "kv/sub-2/x"},
		{"alias id", "{{identity.entity.aliases.auth_jwt_1.id}}", svc, "kv/a-1/x", "kv/a-2/x"},
		{"alias metadata", "{{identity.entity.aliases.auth_jwt_1.metadata.env}}", svc, "kv/prod/x", "kv/dev/x"},
		{"alias custom metadata", "{{identity.entity.aliases.auth_jwt_1.custom_metadata.tier}}", svc, "kv/gold/x", "kv/x/x"},
		{"alias on another mount", "{{identity.entity.aliases.auth_other.name}}", svc, "", "kv/sub-1/x"},
		{"group name by id", "{{identity.groups.ids.g-1.name}}", svc, "kv/ops/x", "kv/dev/x"},
		{"group id by name", "{{identity.groups.names.ops.id}}", svc, "kv/g-1/x", "kv/g-2/x"},
		{"group not joined", "{{identity.groups.names.dev.id}}", svc, "", "kv/g-1/x"},
		{"no entity", "{{identity.entity.id}}", nil, "", "kv/e-1/x"},
		{"glob star in name", "{{identity.entity.name}}", evil("*"), "", "kv/anything/x"},
		{"plus in metadata", "{{identity.entity.metadata.team}}", evil("+"), "", "kv/anything/x"},
		{"slash in alias name", "{{identity.entity.aliases.auth_jwt_1.name}}", evil("a/b"), "", "kv/a/b/x"},
		{"dot-dot in alias metadata", "{{identity.entity.aliases.auth_jwt_1.metadata.env}}", evil(".."), "", "kv/../x"},
		{"dot-dot inside a value", "{{identity.groups.ids.g-1.name}}", evil("a..b"), "", "kv/a..b/x"},
		{"backslash", "{{identity.groups.names.ops.id}}", evil(`a\b`), "", `kv/a\b/x`},
		{"braces", "{{identity.entity.name}}", evil("{{x}}"), "", "kv/{{x}}/x"},
		{"control character", "{{identity.entity.name}}", evil("a\nb"), "", "kv/a\nb/x"},
		{"empty value", "{{identity.entity.name}}", evil(""), "", "kv//x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("tpl", `path "kv/`+tt.template+`/x" { capabilities = ["read"] }`)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			acl, err := NewACL(p.Render(tt.entity))
			if err != nil {
				t.Fatal(err)
			}
			if tt.read != "" && !acl.Allowed(logical.ReadOperation, tt.read, nil, 0).Allowed {
				t.Errorf("%s not allowed", tt.read)
			}
			if acl.Allowed(logical.ReadOperation, tt.deny, nil, 0).Allowed {
				t.Errorf("%s allowed", tt.deny)
			}
		})
	}
}

func TestTemplateSyntaxRefused(t *testing.T) {
	for _, tpl := range []string{
		"{{identity.entity.aliases.acc}}",
		"{{identity.entity.aliases..name}}",
		"{{identity.entity.aliases.acc.metadata}}",
		"{{identity.entity.aliases.acc.other}}",
		"{{identity.groups.ids.g.id}}",
		"{{identity.groups.names.n.name}}",
		"{{identity.groups.ids..name}}",
		"{{identity.entity.nope}}",
	} {
		if _, err := Parse("bad", `path "kv/`+tpl+`" { capabilities = ["read"] }`); err == nil {
			t.Errorf("%s accepted", tpl)
		}
	}
}
