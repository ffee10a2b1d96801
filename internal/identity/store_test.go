package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// harness drives a Store through its backend, as the core would.
type harness struct {
	t  *testing.T
	st storage.Store
	s  *Store
	b  logical.Backend
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, st: inmem.New()}
	h.reopen()
	return h
}

func (h *harness) reopen() {
	h.t.Helper()
	s, err := Open(context.Background(), h.st, Options{MountByAccessor: func(acc string) (Mount, bool) {
		switch acc {
		case "auth_userpass_1", "auth_jwt_2":
			return Mount{Path: "auth/" + acc + "/", Type: "userpass"}, true
		}
		return Mount{}, false
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.s, h.b = s, s.Backend()
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data})
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) map[string]any {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	if resp == nil {
		return nil
	}
	return resp.Data
}

func (h *harness) login(acc, alias string, groups ...string) string {
	h.t.Helper()
	id, err := h.s.Login(context.Background(), LoginInput{MountAccessor: acc, Alias: alias, GroupAliases: groups})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func TestLoginCreatesEntityOnce(t *testing.T) {
	h := newHarness(t)
	a := h.login("auth_userpass_1", "alice")
	if b := h.login("auth_userpass_1", "alice"); a != b {
		t.Fatalf("second login got entity %s, want %s", b, a)
	}
	if c := h.login("auth_jwt_2", "alice"); c == a {
		t.Fatal("an alias on another mount reached the same entity without being tied to it")
	}
	h.reopen()
	if b := h.login("auth_userpass_1", "alice"); a != b {
		t.Fatalf("after reopening, login got entity %s, want %s", b, a)
	}
	d := h.must(logical.UpdateOperation, "lookup/entity", map[string]any{"alias_name": "alice", "alias_mount_accessor": "auth_userpass_1"})
	if d["id"] != a {
		t.Fatalf("lookup by alias: %v", d["id"])
	}
}

func TestResolvePoliciesThroughGroups(t *testing.T) {
	h := newHarness(t)
	e := h.must(logical.UpdateOperation, "entity", map[string]any{"name": "svc", "policies": "own"})["id"].(string)
	child := h.must(logical.UpdateOperation, "group", map[string]any{"name": "child", "policies": "c", "member_entity_ids": []any{e}})["id"].(string)
	parent := h.must(logical.UpdateOperation, "group", map[string]any{"name": "parent", "policies": []any{"p"}, "member_group_ids": []any{child}})["id"].(string)
	h.must(logical.UpdateOperation, "group", map[string]any{"name": "grand", "policies": "g", "member_group_ids": parent})

	r, ok := h.s.Resolve(e)
	if !ok {
		t.Fatal("entity not resolved")
	}
	if want := []string{"c", "g", "own", "p"}; !slices.Equal(r.Policies, want) {
		t.Fatalf("policies %v, want %v", r.Policies, want)
	}
	if r.Template.GroupIDs["parent"] != parent || r.Template.GroupNames[child] != "child" {
		t.Fatalf("template groups: %+v", r.Template)
	}

	// A cycle is refused: child cannot contain grand, which contains it.
	_, err := h.do(logical.UpdateOperation, "group/name/child", map[string]any{"member_group_ids": h.s.groupByName["grand"]})
	if err == nil {
		t.Fatal("a group cycle was accepted")
	}

	// A change applies at once; reopening keeps it.
	h.must(logical.UpdateOperation, "group/name/parent", map[string]any{"policies": "p2"})
	h.reopen()
	r, _ = h.s.Resolve(e)
	if want := []string{"c", "g", "own", "p2"}; !slices.Equal(r.Policies, want) {
		t.Fatalf("after update: %v, want %v", r.Policies, want)
	}
	h.must(logical.DeleteOperation, "group/id/"+parent, nil)
	r, _ = h.s.Resolve(e)
	if want := []string{"c", "own"}; !slices.Equal(r.Policies, want) {
		t.Fatalf("after deleting the parent: %v, want %v", r.Policies, want)
	}
	h.must(logical.DeleteOperation, "entity/name/svc", nil)
	if _, ok := h.s.Resolve(e); ok {
		t.Fatal("a deleted entity still resolves")
	}
	if d := h.must(logical.ReadOperation, "group/id/"+child, nil); len(d["member_entity_ids"].([]string)) != 0 {
		t.Fatalf("deleted entity still a member: %v", d["member_entity_ids"])
	}
}

func TestExternalGroupsFollowLogins(t *testing.T) {
	h := newHarness(t)
	g := h.must(logical.UpdateOperation, "group", map[string]any{"name": "ops", "type": "external", "policies": "ops"})["id"].(string)
	h.must(logical.UpdateOperation, "group-alias", map[string]any{"name": "ops-team", "mount_accessor": "auth_jwt_2", "canonical_id": g})
	if _, err := h.do(logical.UpdateOperation, "group/id/"+g, map[string]any{"member_entity_ids": "x"}); err == nil {
		t.Fatal("members set by hand on an external group")
	}
	e := h.login("auth_jwt_2", "bob", "ops-team", "other")
	if r, _ := h.s.Resolve(e); !slices.Equal(r.Policies, []string{"ops"}) {
		t.Fatalf("policies %v", r.Policies)
	}
	h.login("auth_jwt_2", "bob")
	if r, _ := h.s.Resolve(e); len(r.Policies) != 0 {
		t.Fatalf("left the group but kept %v", r.Policies)
	}
	d := h.must(logical.UpdateOperation, "lookup/group", map[string]any{"alias_name": "ops-team", "alias_mount_accessor": "auth_jwt_2"})
	if d["id"] != g {
		t.Fatalf("lookup group by alias: %v", d)
	}
}

func TestAliasRules(t *testing.T) {
	h := newHarness(t)
	e := h.must(logical.UpdateOperation, "entity", map[string]any{"name": "one"})["id"].(string)
	cases := []struct {
		name string
		data map[string]any
		ok   bool
	}{
		{"valid", map[string]any{"name": "al", "mount_accessor": "auth_userpass_1", "canonical_id": e}, true},
		{"same name and mount", map[string]any{"name": "al", "mount_accessor": "auth_userpass_1"}, false},
		{"second alias on the mount", map[string]any{"name": "al2", "mount_accessor": "auth_userpass_1", "canonical_id": e}, false},
		{"unknown mount", map[string]any{"name": "al", "mount_accessor": "auth_nope"}, false},
		{"unknown entity", map[string]any{"name": "x", "mount_accessor": "auth_jwt_2", "canonical_id": "nope"}, false},
		{"no name", map[string]any{"mount_accessor": "auth_jwt_2"}, false},
		{"new entity", map[string]any{"name": "x", "mount_accessor": "auth_jwt_2"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, "entity-alias", c.data)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			var le *logical.Error
			if err != nil && (!errors.As(err, &le) || le.Kind != logical.KindInvalidRequest) {
				t.Fatalf("error is not a 400: %v", err)
			}
		})
	}
	if h.login("auth_userpass_1", "al") != e {
		t.Fatal("login did not reach the entity of the alias made through the API")
	}
}

func TestMerge(t *testing.T) {
	h := newHarness(t)
	a := h.login("auth_userpass_1", "a")
	b := h.login("auth_jwt_2", "b")
	c := h.login("auth_userpass_1", "c")
	h.must(logical.UpdateOperation, "group", map[string]any{"name": "g", "policies": "gp", "member_entity_ids": b})
	if _, err := h.do(logical.UpdateOperation, "entity/merge", map[string]any{"from_entity_ids": c, "to_entity_id": a}); err == nil {
		t.Fatal("merge with two aliases on one mount was accepted")
	}
	h.must(logical.UpdateOperation, "entity/merge", map[string]any{"from_entity_ids": b, "to_entity_id": a})
	if h.login("auth_jwt_2", "b") != a {
		t.Fatal("the merged alias does not lead to the target")
	}
	if r, ok := h.s.Resolve(b); !ok || r.EntityID != a || !slices.Equal(r.Policies, []string{"gp"}) {
		t.Fatalf("the merged-away entity's tokens: %+v %v", r, ok)
	}
	h.must(logical.UpdateOperation, "entity/batch-delete", map[string]any{"entity_ids": []any{a, c}})
	if d := h.must(logical.ListOperation, "entity/id", nil); len(d) != 0 {
		t.Fatalf("entities left: %v", d)
	}
}

// BenchmarkResolve measures the per-request resolution of an entity in
// three nested groups among 10,000 entities.
func BenchmarkResolve(b *testing.B) {
	st := inmem.New()
	s, err := Open(context.Background(), st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	be := s.Backend()
	write := func(path string, data map[string]any) string {
		resp, err := be.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data})
		if err != nil {
			b.Fatal(err)
		}
		if resp == nil {
			return ""
		}
		return resp.Data["id"].(string)
	}
	var last string
	for i := range 10000 {
		last, _ = s.Login(context.Background(), LoginInput{MountAccessor: "acc", Alias: fmt.Sprint("user", i)})
	}
	g1 := write("group", map[string]any{"name": "g1", "policies": "a", "member_entity_ids": last})
	g2 := write("group", map[string]any{"name": "g2", "policies": "b", "member_group_ids": g1})
	write("group", map[string]any{"name": "g3", "policies": "c", "member_group_ids": g2})
	b.ReportAllocs()
	for b.Loop() {
		if r, ok := s.Resolve(last); !ok || len(r.Policies) != 3 {
			b.Fatal("bad resolution")
		}
	}
}

// BenchmarkLoginReturning is the identity step of a login by a caller
// already known, with its external group unchanged: read lock only.
func BenchmarkLoginReturning(b *testing.B) {
	s, err := Open(context.Background(), inmem.New(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := s.Backend().HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation,
		Path: "group", Data: map[string]any{"name": "ops", "type": "external"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Backend().HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation,
		Path: "group-alias", Data: map[string]any{"name": "ops", "mount_accessor": "acc", "canonical_id": resp.Data["id"]}}); err != nil {
		b.Fatal(err)
	}
	in := LoginInput{MountAccessor: "acc", Alias: "svc", AliasMetadata: map[string]string{"role": "r"}, GroupAliases: []string{"ops"}}
	if _, err := s.Login(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Login(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
