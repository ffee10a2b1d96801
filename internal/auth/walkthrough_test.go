package auth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// TestDockerWalkthrough is the seed's userpass flow on a KV v1 secret/
// mount, as old Vault servers had.
func TestDockerWalkthrough(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	if err := root.Sys().Unmount("secret"); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().Mount("secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("web-policy", `path "secret/web/*" { policy = "read" }`); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/userpass/users/web", map[string]any{"password": "web", "policies": "web-policy"}); err != nil {
		t.Fatal(err)
	}
	for p, v := range map[string]string{"secret/web/web-apps": "password", "secret/hello": "world"} {
		if _, err := root.Logical().Write(p, map[string]any{"value": v}); err != nil {
			t.Fatal(err)
		}
	}
	user, _ := root.Clone()
	user.ClearToken()
	sec, err := user.Logical().Write("auth/userpass/login/web", map[string]any{"password": "web"})
	if err != nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		t.Fatalf("login: %+v %v", sec, err)
	}
	if got := sec.Auth.Policies; len(got) != 2 || got[0] != "default" || got[1] != "web-policy" {
		t.Errorf("login policies = %v; want [default web-policy]", got)
	}
	user.SetToken(sec.Auth.ClientToken)
	got, err := user.Logical().Read("secret/web/web-apps")
	if err != nil || got.Data["value"] != "password" {
		t.Fatalf("allowed read: %+v %v", got, err)
	}
	if _, err := user.Logical().Read("secret/hello"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("read outside secret/web/: %v; want 403", err)
	}
	self, err := user.Auth().Token().LookupSelf()
	if err != nil || self.Data["display_name"] != "userpass-web" || self.Data["path"] != "auth/userpass/login/web" {
		t.Fatalf("lookup-self: %+v %v", self, err)
	}
	// A wrong password and an unknown user answer alike.
	_, e1 := user.Logical().Write("auth/userpass/login/web", map[string]any{"password": "nope"})
	_, e2 := user.Logical().Write("auth/userpass/login/nobody", map[string]any{"password": "nope"})
	if statusOf(e1) != http.StatusBadRequest || statusOf(e2) != http.StatusBadRequest {
		t.Fatalf("bad logins: %v / %v; want 400s", e1, e2)
	}
}

// TestAppRoleWalkthrough is the Portoser/devstack machine flow.
func TestAppRoleWalkthrough(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	ctx := context.Background()
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	err := root.Sys().PutPolicy("my-app", `
path "secret/data/services/my-app" { capabilities = ["read"] }
path "secret/data/services/admin"  { capabilities = ["deny"] }
path "secret/data/services/*"      { capabilities = ["read"] }
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/my-app", map[string]any{
		"token_policies": "my-app", "token_ttl": "1h", "token_max_ttl": "4h",
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"services/my-app", "services/admin"} {
		if _, err := root.KVv2("secret").Put(ctx, p, map[string]any{"api_key": "k-" + p}); err != nil {
			t.Fatal(err)
		}
	}
	rid, err := root.Logical().Read("auth/approle/role/my-app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := root.Logical().Write("auth/approle/role/my-app/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := root.Clone()
	app.ClearToken()
	login, err := app.Logical().Write("auth/approle/login", map[string]any{
		"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"],
	})
	if err != nil {
		t.Fatal(err)
	}
	if login.Auth.LeaseDuration != 3600 || !login.Auth.Renewable {
		t.Errorf("login lease %d renewable %v; want 3600, true", login.Auth.LeaseDuration, login.Auth.Renewable)
	}
	app.SetToken(login.Auth.ClientToken)
	got, err := app.KVv2("secret").Get(ctx, "services/my-app")
	if err != nil || got.Data["api_key"] != "k-services/my-app" {
		t.Fatalf("allowed read: %+v %v", got, err)
	}
	if _, err := app.KVv2("secret").Get(ctx, "services/admin"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("denied read: %v; want 403", err)
	}
	caps, err := app.Sys().CapabilitiesSelf("secret/data/services/admin")
	if err != nil || len(caps) != 1 || caps[0] != "deny" {
		t.Fatalf("capabilities = %v %v; want [deny]", caps, err)
	}
	// Renewal is capped by token_max_ttl.
	r, err := app.Auth().Token().RenewSelf(100 * 3600)
	if err != nil || r.Auth.LeaseDuration > 4*3600 {
		t.Fatalf("renew: %+v %v; want at most 4h", r, err)
	}
	// A wrapped secret ID, unwrapped by the machine that uses it.
	wc, _ := root.Clone()
	wc.SetToken(s.RootToken)
	wc.SetWrappingLookupFunc(func(string, string) string { return "120s" })
	wrapped, err := wc.Logical().Write("auth/approle/role/my-app/secret-id", nil)
	if err != nil || wrapped.WrapInfo == nil {
		t.Fatalf("wrapped secret-id: %+v %v", wrapped, err)
	}
	machine, _ := root.Clone()
	machine.ClearToken()
	un, err := machine.Logical().Unwrap(wrapped.WrapInfo.Token)
	if err != nil || un.Data["secret_id"] == nil {
		t.Fatalf("unwrap secret-id: %+v %v", un, err)
	}
	if _, err := machine.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": un.Data["secret_id"]}); err != nil {
		t.Fatalf("login with the unwrapped secret ID: %v", err)
	}
}

// TestLockoutAcrossNameVariants: 6 wrong passwords for admin, Admin and
// " admin " share one counter; sys/locked-users lists and unlocks.
func TestLockoutAcrossNameVariants(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	if err := root.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/userpass/users/admin", map[string]any{"password": "right"}); err != nil {
		t.Fatal(err)
	}
	anon, _ := root.Clone()
	anon.ClearToken()
	for i, name := range []string{"admin", "Admin", " admin ", "ADMIN", "admin", "Admin"} {
		_, err := anon.Logical().Write("auth/userpass/login/"+name, map[string]any{"password": "wrong"})
		if err == nil {
			t.Fatalf("attempt %d with a wrong password succeeded", i)
		}
	}
	if _, err := anon.Logical().Write("auth/userpass/login/admin", map[string]any{"password": "right"}); statusOf(err) != http.StatusForbidden {
		t.Fatalf("right password while locked out: %v; want 403", err)
	}
	locked, err := root.Logical().Read("sys/locked-users")
	if err != nil || locked.Data["total"] == nil {
		t.Fatalf("locked-users: %+v %v", locked, err)
	}
	auths, _ := root.Sys().ListAuth()
	acc := auths["userpass/"].Accessor
	if _, err := root.Logical().Write("sys/locked-users/"+acc+"/unlock/admin", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Logical().Write("auth/userpass/login/admin", map[string]any{"password": "right"}); err != nil {
		t.Fatalf("login after unlock: %v", err)
	}
}

// TestDisableAuthRevokesItsTokens: disabling a method revokes every token
// it issued; other tokens live on.
func TestDisableAuthRevokesItsTokens(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/r", map[string]any{"token_policies": "default"}); err != nil {
		t.Fatal(err)
	}
	rid, _ := root.Logical().Read("auth/approle/role/r/role-id")
	sid, _ := root.Logical().Write("auth/approle/role/r/secret-id", nil)
	anon, _ := root.Clone()
	anon.ClearToken()
	login, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
	if err != nil {
		t.Fatal(err)
	}
	other, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().DisableAuth("approle"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Auth().Token().LookupAccessor(login.Auth.Accessor); err == nil {
		t.Fatal("a token of the disabled auth method is still alive")
	}
	if _, err := root.Auth().Token().LookupAccessor(other.Auth.Accessor); err != nil {
		t.Fatalf("an unrelated token died: %v", err)
	}
}

// TestTokenBoundCIDRs: a login token bound to another network is refused.
func TestTokenBoundCIDRs(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	if err := root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	for name, cidr := range map[string]string{"far": "10.1.2.0/24", "near": "127.0.0.0/8"} {
		if _, err := root.Logical().Write("auth/approle/role/"+name, map[string]any{"token_bound_cidrs": cidr}); err != nil {
			t.Fatal(err)
		}
	}
	login := func(role string) *api.Client {
		rid, _ := root.Logical().Read("auth/approle/role/" + role + "/role-id")
		sid, _ := root.Logical().Write("auth/approle/role/"+role+"/secret-id", nil)
		c, _ := root.Clone()
		c.ClearToken()
		sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(sec.Auth.ClientToken)
		return c
	}
	if _, err := login("near").Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("token bound to 127.0.0.0/8 used from loopback: %v", err)
	}
	if _, err := login("far").Auth().Token().LookupSelf(); statusOf(err) != http.StatusForbidden {
		t.Fatalf("token bound to 10.1.2.0/24 used from loopback: %v; want 403", err)
	}
}

// TestRevokePrefixOfAnAuthPath: revoke-prefix on an auth path revokes the
// tokens issued there (vault token-revoke -mode=path).
func TestRevokePrefixOfAnAuthPath(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	if err := root.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/userpass/users/web", map[string]any{"password": "web"}); err != nil {
		t.Fatal(err)
	}
	anon, _ := root.Clone()
	anon.ClearToken()
	login, err := anon.Logical().Write("auth/userpass/login/web", map[string]any{"password": "web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().RevokePrefix("auth/userpass/login/web"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Auth().Token().LookupAccessor(login.Auth.Accessor); err == nil {
		t.Fatal("token survived revoke-prefix of its login path")
	}
}
