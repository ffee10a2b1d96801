package identity_test

import (
	"context"
	"testing"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/server"
)

// BenchmarkHandleWithIdentity reads a KV v2 secret through core.Handle
// (in-memory storage) with a token whose read policy comes from the token
// itself, from three nested groups of its entity, or from a templated
// policy rendered for its entity: the cost of resolving identity on each
// request.
func BenchmarkHandleWithIdentity(b *testing.B) {
	ctx := context.Background()
	srv, err := server.New(&config.Config{Storage: &config.Storage{Type: "inmem"},
		DefaultLeaseTTL: config.DefaultLeaseTTL, MaxLeaseTTL: config.DefaultMaxLeaseTTL}, server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(ctx) })
	_, root, err := srv.InitDev(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	do := func(op logical.Operation, path string, data map[string]any) *logical.Response {
		resp, err := srv.Core.Handle(ctx, &logical.Request{Operation: op, Path: path, ClientToken: root, Data: data})
		if err != nil {
			b.Fatalf("%s %s: %v", op, path, err)
		}
		return resp
	}
	do(logical.UpdateOperation, "sys/policies/acl/reader", map[string]any{"policy": `path "secret/data/app/*" { capabilities = ["read"] }`})
	do(logical.UpdateOperation, "sys/policies/acl/tpl", map[string]any{"policy": `path "secret/data/{{identity.entity.name}}/*" { capabilities = ["read"] }`})
	do(logical.UpdateOperation, "sys/auth/userpass", map[string]any{"type": "userpass"})
	do(logical.UpdateOperation, "secret/data/app/x", map[string]any{"data": map[string]any{"v": "1"}})
	do(logical.UpdateOperation, "secret/data/app/y", map[string]any{"data": map[string]any{"v": "1"}})
	plain := do(logical.UpdateOperation, "auth/token/create", map[string]any{"policies": "reader"}).Auth.ClientToken

	login := func(user string) (token, entity string) {
		do(logical.UpdateOperation, "auth/userpass/users/"+user, map[string]any{"password": "pw"})
		resp, err := srv.Core.Handle(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "auth/userpass/login/" + user, Data: map[string]any{"password": "pw"}})
		if err != nil {
			b.Fatal(err)
		}
		return resp.Auth.ClientToken, resp.Auth.EntityID
	}
	grouped, e1 := login("grouped")
	g1 := do(logical.UpdateOperation, "identity/group", map[string]any{"name": "g1", "member_entity_ids": e1}).Data["id"]
	g2 := do(logical.UpdateOperation, "identity/group", map[string]any{"name": "g2", "member_group_ids": g1}).Data["id"]
	do(logical.UpdateOperation, "identity/group", map[string]any{"name": "g3", "policies": "reader", "member_group_ids": g2})
	templated, e2 := login("templated")
	do(logical.UpdateOperation, "identity/entity/id/"+e2, map[string]any{"name": "app", "policies": "tpl"})

	for _, c := range []struct{ name, token string }{{"token-policy", plain}, {"nested-groups", grouped}, {"templated", templated}} {
		b.Run(c.name, func(b *testing.B) {
			req := logical.Request{Operation: logical.ReadOperation, Path: "secret/data/app/x", ClientToken: c.token}
			b.ReportAllocs()
			for b.Loop() {
				r := req
				if _, err := srv.Core.Handle(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
