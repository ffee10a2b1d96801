package approle_test

import (
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestWrappedSecretIDAndDisplayName pins two AppRole answers: a wrapped
// secret ID names its accessor in wrap_info.wrapped_accessor, and login
// tokens are named "approle".
func TestWrappedSecretIDAndDisplayName(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/approle/role/web", map[string]any{"token_policies": "default"}); err != nil {
		t.Fatal(err)
	}
	rid, err := c.Logical().Read("auth/approle/role/web/role-id")
	if err != nil {
		t.Fatal(err)
	}
	wc, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	wc.SetToken(s.RootToken)
	wc.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	wrapped, err := wc.Logical().Write("auth/approle/role/web/secret-id", nil)
	if err != nil || wrapped.WrapInfo == nil {
		t.Fatalf("wrapped secret-id: %+v %v", wrapped, err)
	}
	if wrapped.WrapInfo.WrappedAccessor == "" {
		t.Fatalf("wrap_info.wrapped_accessor is empty")
	}
	un, err := c.Logical().Unwrap(wrapped.WrapInfo.Token)
	if err != nil {
		t.Fatal(err)
	}
	if un.Data["secret_id_accessor"] != wrapped.WrapInfo.WrappedAccessor {
		t.Errorf("wrapped_accessor %q; want the secret ID accessor %q", wrapped.WrapInfo.WrappedAccessor, un.Data["secret_id_accessor"])
	}

	login, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": un.Data["secret_id"]})
	if err != nil {
		t.Fatal(err)
	}
	look, err := c.Auth().Token().Lookup(login.Auth.ClientToken)
	if err != nil || look.Data["display_name"] != "approle" {
		t.Errorf("display_name = %v, %v; want approle", look.Data["display_name"], err)
	}
}
