package approle

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestRoleReadListDelete(t *testing.T) {
	b := newTestBackend(t)
	roleID := b.role(t, "Web", map[string]any{
		"policies": "app", "secret_id_ttl": "10m", "secret_id_num_uses": 3,
		"secret_id_bound_cidrs": "10.0.0.0/8", "token_ttl": 600, "period": "1h",
	})
	if len(roleID) != 36 {
		t.Errorf("role_id %q is not a UUID", roleID)
	}
	resp := b.must(t, logical.ReadOperation, "role/web", nil)
	want := map[string]any{
		"bind_secret_id": true, "secret_id_num_uses": 3, "secret_id_ttl": int64(600),
		"token_ttl": int64(600), "token_period": int64(3600), "period": int64(3600), "token_type": "default",
	}
	for k, v := range want {
		if resp.Data[k] != v {
			t.Errorf("read %s = %#v, want %#v", k, resp.Data[k], v)
		}
	}
	for k, v := range map[string][]string{"token_policies": {"app"}, "policies": {"app"}, "secret_id_bound_cidrs": {"10.0.0.0/8"}} {
		if got, _ := resp.Data[k].([]string); !slices.Equal(got, v) {
			t.Errorf("read %s = %#v, want %v", k, resp.Data[k], v)
		}
	}

	b.role(t, "db", nil)
	list := b.must(t, logical.ListOperation, "role/", nil)
	if got := list.Data["keys"].([]string); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("list = %v", got)
	}

	// A custom role ID replaces the old one at login.
	b.must(t, logical.UpdateOperation, "role/web/role-id", map[string]any{"role_id": "custom-id"})
	_, err := b.do(t, logical.UpdateOperation, "role/db/role-id", map[string]any{"role_id": "custom-id"})
	wantError(t, err, 400, "role_id already in use")
	secret, _ := b.secretID(t, "web", nil)
	_, err = b.doFrom(t, "10.1.1.1:1", logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": secret})
	wantError(t, err, 400, "invalid role or secret ID")
	if _, err := b.doFrom(t, "10.1.1.1:1", logical.UpdateOperation, "login", map[string]any{"role_id": "custom-id", "secret_id": secret}); err != nil {
		t.Fatalf("login with custom role_id: %v", err)
	}

	// Deleting a role takes its secret IDs along: a new role of the same
	// name does not inherit them.
	secret, _ = b.secretID(t, "web", nil)
	b.must(t, logical.DeleteOperation, "role/web", nil)
	newID := b.role(t, "web", map[string]any{"role_id": "custom-id"})
	_, err = b.doFrom(t, "10.1.1.1:1", logical.UpdateOperation, "login", map[string]any{"role_id": newID, "secret_id": secret})
	wantError(t, err, 400, "invalid role or secret ID")
}

func TestRoleWriteErrors(t *testing.T) {
	tests := map[string]struct {
		data map[string]any
		msg  string
	}{
		"no constraint":        {data: map[string]any{"bind_secret_id": false}, msg: "at least one constraint should be enabled on the role"},
		"negative num uses":    {data: map[string]any{"secret_id_num_uses": -1}, msg: "secret_id_num_uses cannot be negative"},
		"bad cidr":             {data: map[string]any{"secret_id_bound_cidrs": "nope"}, msg: `invalid secret_id_bound_cidrs: "nope" is not a CIDR block or IP address`},
		"both policy spelling": {data: map[string]any{"policies": "a", "token_policies": "b"}, msg: `"token_policies" and "policies" cannot both be specified`},
		"batch periodic":       {data: map[string]any{"token_type": "batch", "token_period": "1h"}, msg: "'token_type' cannot be 'batch' when set to generate periodic tokens"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newTestBackend(t)
			_, err := b.do(t, logical.UpdateOperation, "role/r", tc.data)
			wantError(t, err, 400, tc.msg)
		})
	}
	b := newTestBackend(t)
	_, err := b.do(t, logical.UpdateOperation, "role/ghost/secret-id", nil)
	wantError(t, err, 400, fmt.Sprintf("role %q does not exist", "ghost"))
}
