package policy

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

const readSecret = `path "secret/*" { capabilities = ["read"] }`

func TestStoreNames(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	tests := map[string]struct {
		name string
		want error
	}{
		"root":                    {name: "root", want: ErrImmutable},
		"Root capitalised":        {name: "Root", want: ErrImmutable},
		"root with leading space": {name: " root", want: ErrImmutable},
		"root with trailing tab":  {name: "root\t", want: ErrImmutable},
		"empty":                   {name: "", want: ErrInvalidName},
		"blank":                   {name: "  ", want: ErrInvalidName},
		"slash":                   {name: "a/b", want: ErrInvalidName},
		"control character":       {name: "a\x00b", want: ErrInvalidName},
		"ordinary":                {name: "Admin"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := s.Put(ctx, tc.name, readSecret); !errors.Is(err, tc.want) {
				t.Errorf("Put(%q) = %v, want %v", tc.name, err, tc.want)
			}
		})
	}
	p, err := s.Get(ctx, "ADMIN ")
	if err != nil || p.Name != "admin" || p.Text != readSecret {
		t.Fatalf("Get(ADMIN) = %+v, %v; want the admin policy", p, err)
	}
	if _, err := s.st.Get(ctx, "policy/admin"); err != nil {
		t.Errorf("admin not stored under policy/admin: %v", err)
	}
	names, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"admin", "default", "root"}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q", names, want)
	}
}

func TestStoreBuiltins(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	root, err := s.Get(ctx, "root")
	if err != nil || root.Name != RootName || len(root.Rules) != 0 {
		t.Fatalf("Get(root) = %+v, %v", root, err)
	}
	def, err := s.Get(ctx, "default")
	if err != nil || def.Text != defaultText {
		t.Fatalf("Get(default) = %+v, %v; want the built-in text", def, err)
	}
	for name, want := range map[string]error{"default": ErrNotDeletable, " Default": ErrNotDeletable, "ROOT": ErrImmutable} {
		if err := s.Delete(ctx, name); !errors.Is(err, want) {
			t.Errorf("Delete(%q) = %v, want %v", name, err, want)
		}
	}
	if err := s.Delete(ctx, "missing"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if le, ok := logical.AsError(ErrNotDeletable); !ok || le.Status() != 400 {
		t.Errorf("ErrNotDeletable is not a 400")
	}

	// default is editable: the edit replaces the built-in text.
	if err := s.Put(ctx, "default", readSecret); err != nil {
		t.Fatal(err)
	}
	acl, err := s.ACL(ctx, []string{"default"})
	if err != nil {
		t.Fatal(err)
	}
	if d := acl.Allowed(logical.ReadOperation, "secret/x", nil, 0); !d.Allowed {
		t.Errorf("edited default does not allow secret/x")
	}
	if d := acl.Allowed(logical.ReadOperation, "auth/token/lookup-self", nil, 0); d.Allowed {
		t.Errorf("edited default still allows lookup-self")
	}
	rootACL, err := s.ACL(ctx, []string{"default", "Root"})
	if err != nil || !rootACL.IsRoot() {
		t.Errorf("ACL(default, Root) = %v, %v; want the root ACL", rootACL, err)
	}
}

func TestStorePutRejectsBadPolicy(t *testing.T) {
	ctx := context.Background()
	st := inmem.New()
	s := NewStore(st)
	err := s.Put(ctx, "bad", `path "a" { capabilities = ["fly"] }`)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("Put(bad) = %v, want a *ParseError on line 1", err)
	}
	if _, err := st.Get(ctx, "policy/bad"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("bad policy was stored: %v", err)
	}
}

func TestStoreCacheInvalidation(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	if err := s.Put(ctx, "app", readSecret); err != nil {
		t.Fatal(err)
	}
	first, err := s.ACL(ctx, []string{"app", "default"})
	if err != nil {
		t.Fatal(err)
	}
	// The same set in another order and case is the same cached ACL.
	again, err := s.ACL(ctx, []string{"Default", "app", "app"})
	if err != nil || again != first {
		t.Fatalf("ACL not cached per name set: %p vs %p (%v)", again, first, err)
	}
	if d := first.Allowed(logical.ReadOperation, "secret/x", nil, 0); !d.Allowed {
		t.Fatalf("app does not allow reading secret/x")
	}

	if err := s.Put(ctx, "app", `path "secret/*" { capabilities = ["deny"] }`); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get(ctx, "app"); p.Rules[0].Capabilities != Deny {
		t.Errorf("Get after Put returns the old policy")
	}
	after, err := s.ACL(ctx, []string{"app", "default"})
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Allowed(logical.ReadOperation, "secret/x", nil, 0); d.Allowed {
		t.Errorf("ACL still allows secret/x after the policy changed to deny")
	}

	if err := s.Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "app"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	gone, err := s.ACL(ctx, []string{"app", "default"})
	if err != nil {
		t.Fatal(err)
	}
	if gone == after {
		t.Errorf("ACL cache not invalidated by Delete")
	}
	if d := gone.Allowed(logical.ReadOperation, "auth/token/lookup-self", nil, 0); !d.Allowed {
		t.Errorf("a deleted policy in the set stops default from applying")
	}

	// A policy created after an ACL naming it was cached takes effect.
	if err := s.Put(ctx, "app", readSecret); err != nil {
		t.Fatal(err)
	}
	back, err := s.ACL(ctx, []string{"app", "default"})
	if err != nil {
		t.Fatal(err)
	}
	if d := back.Allowed(logical.ReadOperation, "secret/x", nil, 0); !d.Allowed {
		t.Errorf("recreated policy not applied")
	}
}

func TestStoreEntityACL(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	if err := s.Put(ctx, "home", `path "home/{{identity.entity.name}}/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	a, err := s.EntityACL(ctx, []string{"home"}, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Allowed(logical.ReadOperation, "home/alice/x", nil, 0).Allowed {
		t.Errorf("alice cannot read her home")
	}
	b, err := s.EntityACL(ctx, []string{"home"}, evilGlob)
	if err != nil {
		t.Fatal(err)
	}
	if b.Allowed(logical.ReadOperation, "home/alice/x", nil, 0).Allowed {
		t.Errorf("an entity named * can read alice's home")
	}
	if err := s.Put(ctx, "plain", readSecret); err != nil {
		t.Fatal(err)
	}
	c1, _ := s.EntityACL(ctx, []string{"plain"}, alice)
	c2, _ := s.ACL(ctx, []string{"plain"})
	if c1 != c2 {
		t.Errorf("untemplated set does not share the ACL cache")
	}
}

func TestStoreConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			text := readSecret
			if i%2 == 1 {
				text = `path "secret/*" { capabilities = ["deny"] }`
			}
			if err := s.Put(ctx, "flip", text); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		if _, err := s.ACL(ctx, []string{"flip", "default"}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	// The last write denies; whatever was cached meanwhile must not linger.
	a, err := s.ACL(ctx, []string{"flip"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Allowed(logical.ReadOperation, "secret/x", nil, 0).Allowed {
		t.Errorf("stale ACL served after the last write")
	}
}

// TestStoreEntityACLCache: a rendered ACL is reused for the same Entity
// value, rendered anew for a new one, and dropped when a policy changes.
func TestStoreEntityACLCache(t *testing.T) {
	ctx := context.Background()
	s := NewStore(inmem.New())
	if err := s.Put(ctx, "home", `path "home/{{identity.entity.name}}/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	e1 := &Entity{ID: "e", Name: "alice"}
	a1, _ := s.EntityACL(ctx, []string{"home"}, e1)
	if a2, _ := s.EntityACL(ctx, []string{"home"}, e1); a2 != a1 {
		t.Error("same entity value: ACL compiled again")
	}
	renamed := &Entity{ID: "e", Name: "bob"}
	b, _ := s.EntityACL(ctx, []string{"home"}, renamed)
	if b.Allowed(logical.ReadOperation, "home/alice/x", nil, 0).Allowed || !b.Allowed(logical.ReadOperation, "home/bob/x", nil, 0).Allowed {
		t.Error("a renamed entity kept its old rendering")
	}
	if err := s.Put(ctx, "home", `path "home/{{identity.entity.name}}/*" { capabilities = ["deny"] }`); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.EntityACL(ctx, []string{"home"}, e1); c.Allowed(logical.ReadOperation, "home/alice/x", nil, 0).Allowed {
		t.Error("a changed policy did not reach the cached ACL")
	}
}
