package identity_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func status(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func userpassLogin(t *testing.T, s *servertest.Server, user string) *api.Client {
	t.Helper()
	c, err := s.Client.Clone()
	must(t, err)
	c.ClearToken()
	secret, err := c.Logical().Write("auth/userpass/login/"+user, map[string]any{"password": "pw"})
	must(t, err)
	c.SetToken(secret.Auth.ClientToken)
	return c
}

// TestIdentityThroughUserpass drives identity through Vault's API client:
// a login creates the entity, group policies apply live to the existing
// token, a templated policy opens only the entity's own path, disabling
// refuses the token, deleting the group or the entity takes the policies
// away.
func TestIdentityThroughUserpass(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	ctx := context.Background()
	must(t, root.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}))
	for _, u := range []string{"alice", "bob"} {
		_, err := root.Logical().Write("auth/userpass/users/"+u, map[string]any{"password": "pw"})
		must(t, err)
	}
	must(t, root.Sys().PutPolicy("reader", `path "secret/data/shared" { capabilities = ["read"] }`))
	must(t, root.Sys().PutPolicy("own", `path "secret/data/home/{{identity.entity.name}}" { capabilities = ["read"] }`))
	for _, p := range []string{"shared", "home/alice", "home/bob"} {
		_, err := root.KVv2("secret").Put(ctx, p, map[string]any{"v": p})
		must(t, err)
	}

	alice := userpassLogin(t, s, "alice")
	self, err := alice.Auth().Token().LookupSelf()
	must(t, err)
	entityID, _ := self.Data["entity_id"].(string)
	if entityID == "" {
		t.Fatal("login token has no entity_id")
	}
	ent, err := root.Logical().Read("identity/entity/id/" + entityID)
	must(t, err)
	aliases, _ := ent.Data["aliases"].([]any)
	if len(aliases) != 1 || aliases[0].(map[string]any)["name"] != "alice" || aliases[0].(map[string]any)["mount_type"] != "userpass" {
		t.Fatalf("entity aliases: %v", ent.Data["aliases"])
	}
	if _, err := alice.KVv2("secret").Get(ctx, "shared"); status(err) != http.StatusForbidden {
		t.Fatalf("before any identity policy: %v", err)
	}

	// A group with the entity: its policy applies to the existing token.
	g, err := root.Logical().Write("identity/group", map[string]any{"name": "readers", "policies": "reader", "member_entity_ids": entityID})
	must(t, err)
	groupID := g.Data["id"].(string)
	if _, err := alice.KVv2("secret").Get(ctx, "shared"); err != nil {
		t.Fatalf("group policy not applied to the live token: %v", err)
	}
	self, err = alice.Auth().Token().LookupSelf()
	must(t, err)
	if ip, _ := self.Data["identity_policies"].([]any); len(ip) != 1 || ip[0] != "reader" {
		t.Fatalf("identity_policies: %v", self.Data["identity_policies"])
	}

	// Templated policy on the entity, renamed to its user: its own home only.
	_, err = root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"name": "alice", "policies": "own"})
	must(t, err)
	if _, err := alice.KVv2("secret").Get(ctx, "home/alice"); err != nil {
		t.Fatalf("own path: %v", err)
	}
	if _, err := alice.KVv2("secret").Get(ctx, "home/bob"); status(err) != http.StatusForbidden {
		t.Fatalf("another's path: %v", err)
	}
	// A name that is a glob must not widen the rule.
	_, err = root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"name": "*"})
	must(t, err)
	if _, err := alice.KVv2("secret").Get(ctx, "home/bob"); status(err) != http.StatusForbidden {
		t.Fatalf("glob entity name widened the templated rule: %v", err)
	}

	// Disabled: the token is refused; enabled again: accepted.
	_, err = root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"disabled": true})
	must(t, err)
	if _, err := alice.Auth().Token().LookupSelf(); status(err) != http.StatusForbidden {
		t.Fatalf("disabled entity's token: %v", err)
	}
	anon, err := s.Client.Clone()
	must(t, err)
	anon.ClearToken()
	if _, err := anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "pw"}); status(err) != http.StatusForbidden {
		t.Fatalf("login of a disabled entity: %v", err)
	}
	_, err = root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"disabled": false})
	must(t, err)

	// Deleting the group, then the entity, takes their policies away.
	_, err = root.Logical().Delete("identity/group/id/" + groupID)
	must(t, err)
	if _, err := alice.KVv2("secret").Get(ctx, "shared"); status(err) != http.StatusForbidden {
		t.Fatalf("deleted group's policy still applies: %v", err)
	}
	_, err = root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"name": "alice"})
	must(t, err)
	if _, err := alice.KVv2("secret").Get(ctx, "home/alice"); err != nil {
		t.Fatalf("own path after rename back: %v", err)
	}
	_, err = root.Logical().Delete("identity/entity/id/" + entityID)
	must(t, err)
	if _, err := alice.KVv2("secret").Get(ctx, "home/alice"); status(err) != http.StatusForbidden {
		t.Fatalf("deleted entity's policy still applies: %v", err)
	}

	// Lists and lookups.
	userpassLogin(t, s, "bob")
	list, err := root.Logical().List("identity/entity/name")
	must(t, err)
	if keys, _ := list.Data["keys"].([]any); len(keys) != 1 {
		t.Fatalf("entity names: %v", list.Data)
	}
	auths, err := root.Sys().ListAuth()
	must(t, err)
	look, err := root.Logical().Write("identity/lookup/entity", map[string]any{"alias_name": "bob", "alias_mount_accessor": auths["userpass/"].Accessor})
	must(t, err)
	if look == nil || look.Data["name"] == nil {
		t.Fatalf("lookup by alias: %v", look)
	}
	mounts, err := root.Sys().ListMounts()
	must(t, err)
	if m, ok := mounts["identity/"]; !ok || m.Type != "identity" {
		t.Fatalf("identity/ not in sys/mounts: %v", slices.Collect(func(yield func(string) bool) {
			for k := range mounts {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if _, err := root.Logical().Write("identity/entity-alias", map[string]any{"name": "x", "mount_accessor": "auth_nope_1"}); status(err) != http.StatusBadRequest {
		t.Fatalf("alias on an unknown mount: %v", err)
	}
}
