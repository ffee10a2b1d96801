package approle

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestSecretIDLifecycle(t *testing.T) {
	b := newTestBackend(t)
	b.role(t, "web", map[string]any{"secret_id_ttl": "1h", "secret_id_num_uses": 5, "token_bound_cidrs": "10.0.0.0/8"})

	resp := b.must(t, logical.UpdateOperation, "role/web/secret-id", map[string]any{
		"metadata": `{"env":"prod"}`, "num_uses": 2, "ttl": "30m", "token_bound_cidrs": "10.1.0.0/16",
	})
	secret, accessor := resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
	if resp.Data["secret_id_ttl"] != int64(1800) || resp.Data["secret_id_num_uses"] != 2 || len(secret) != 36 || len(accessor) != 36 {
		t.Fatalf("generate = %v", resp.Data)
	}
	custom := b.must(t, logical.UpdateOperation, "role/web/custom-secret-id", map[string]any{"secret_id": "my-own-secret"})
	if custom.Data["secret_id"] != "my-own-secret" || custom.Data["secret_id_num_uses"] != 5 || custom.Data["secret_id_ttl"] != int64(3600) {
		t.Fatalf("custom = %v", custom.Data)
	}
	_, err := b.do(t, logical.UpdateOperation, "role/web/custom-secret-id", map[string]any{"secret_id": "my-own-secret"})
	wantError(t, err, 400, "SecretID is already registered")

	list := b.must(t, logical.ListOperation, "role/web/secret-id/", nil).Data["keys"].([]string)
	if !slices.Contains(list, accessor) || !slices.Contains(list, custom.Data["secret_id_accessor"].(string)) || len(list) != 2 {
		t.Errorf("list = %v", list)
	}

	for name, lookup := range map[string]func() *logical.Response{
		"by secret ID": func() *logical.Response {
			return b.must(t, logical.UpdateOperation, "role/web/secret-id/lookup", map[string]any{"secret_id": secret})
		},
		"by accessor": func() *logical.Response {
			return b.must(t, logical.UpdateOperation, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
		},
	} {
		d := lookup().Data
		if d["secret_id_accessor"] != accessor || d["secret_id_num_uses"] != 2 || d["secret_id_ttl"] != int64(1800) ||
			d["metadata"].(map[string]string)["env"] != "prod" || d["expiration_time"] != b.clock.Add(30*time.Minute).Format(time.RFC3339Nano) {
			t.Errorf("lookup %s = %v", name, d)
		}
	}

	// Neither secret ID is stored in clear.
	for _, k := range append(mustList(t, b, "secret_id/web/"), "role/web") {
		e, err := b.store.Get(context.Background(), k)
		if err != nil {
			continue
		}
		if bytes.Contains(e.Value, []byte(secret)) || bytes.Contains(e.Value, []byte("my-own-secret")) {
			t.Errorf("%s holds a secret ID in clear", k)
		}
	}

	b.must(t, logical.DeleteOperation, "role/web/secret-id/destroy", map[string]any{"secret_id": secret})
	if resp := b.must(t, logical.UpdateOperation, "role/web/secret-id/lookup", map[string]any{"secret_id": secret}); resp != nil {
		t.Errorf("lookup after destroy = %v", resp.Data)
	}
	_, err = b.do(t, logical.UpdateOperation, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
	wantError(t, err, 404, `failed to find accessor entry for secret_id_accessor: "`+accessor+`"`)

	tests := map[string]struct {
		data map[string]any
		msg  string
	}{
		"num_uses over role's": {data: map[string]any{"num_uses": 6}, msg: "num_uses cannot be higher than the role's secret_id_num_uses"},
		"unlimited uses":       {data: map[string]any{"num_uses": 0}, msg: "num_uses cannot be higher than the role's secret_id_num_uses"},
		"ttl over role's":      {data: map[string]any{"ttl": "2h"}, msg: "ttl cannot be longer than the role's secret_id_ttl"},
		"token cidrs wider":    {data: map[string]any{"token_bound_cidrs": "0.0.0.0/0"}, msg: "failed to verify the CIDR restrictions set on the secret ID: token_bound_cidrs is not a subset of the role's"},
		"metadata not strings": {data: map[string]any{"metadata": map[string]any{"n": 1.0}}, msg: `failed to parse metadata: value of "n" is not a string`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := b.do(t, logical.UpdateOperation, "role/web/secret-id", tc.data)
			wantError(t, err, 400, tc.msg)
		})
	}
}

func mustList(t *testing.T, b *testBackend, prefix string) []string {
	t.Helper()
	names, err := b.store.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = prefix + names[i]
	}
	return names
}

// TestCrossRoleAccessor checks that a role's paths cannot see or destroy
// another role's secret IDs through their accessors (CVE-2023-24999).
func TestCrossRoleAccessor(t *testing.T) {
	b := newTestBackend(t)
	victimID := b.role(t, "victim", nil)
	b.role(t, "attacker", nil)
	secret, accessor := b.secretID(t, "victim", nil)

	for _, path := range []string{"role/attacker/secret-id-accessor/destroy", "role/attacker/secret-id-accessor/lookup"} {
		for _, op := range []logical.Operation{logical.UpdateOperation, logical.DeleteOperation} {
			if op == logical.DeleteOperation && path == "role/attacker/secret-id-accessor/lookup" {
				continue
			}
			_, err := b.do(t, op, path, map[string]any{"secret_id_accessor": accessor})
			wantError(t, err, 404, `failed to find accessor entry for secret_id_accessor: "`+accessor+`"`)
		}
	}
	// Nor by the secret ID itself.
	b.must(t, logical.UpdateOperation, "role/attacker/secret-id/destroy", map[string]any{"secret_id": secret})
	if resp := b.must(t, logical.UpdateOperation, "role/attacker/secret-id/lookup", map[string]any{"secret_id": secret}); resp != nil {
		t.Errorf("attacker looked up the victim's secret ID: %v", resp.Data)
	}

	if _, err := b.do(t, logical.UpdateOperation, "login", map[string]any{"role_id": victimID, "secret_id": secret}); err != nil {
		t.Fatalf("victim's secret ID no longer works: %v", err)
	}
	b.must(t, logical.UpdateOperation, "role/victim/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor})
	_, err := b.do(t, logical.UpdateOperation, "login", map[string]any{"role_id": victimID, "secret_id": secret})
	wantError(t, err, 400, "invalid role or secret ID")
}

func TestTidy(t *testing.T) {
	b := newTestBackend(t)
	b.role(t, "web", nil)
	short, _ := b.secretID(t, "web", map[string]any{"ttl": "1m"})
	long, _ := b.secretID(t, "web", map[string]any{"ttl": "1h"})
	b.clock = b.clock.Add(2 * time.Minute)

	resp := b.must(t, logical.UpdateOperation, "tidy/secret-id", nil)
	if resp.StatusCode != 202 {
		t.Errorf("tidy status %d, want 202", resp.StatusCode)
	}
	if n := len(mustList(t, b, "secret_id/web/")); n != 1 {
		t.Errorf("%d secret IDs left, want 1", n)
	}
	if n := len(mustList(t, b, "accessor/")); n != 1 {
		t.Errorf("%d accessors left, want 1", n)
	}
	for secret, want := range map[string]bool{short: false, long: true} {
		resp := b.must(t, logical.UpdateOperation, "role/web/secret-id/lookup", map[string]any{"secret_id": secret})
		if got := resp != nil; got != want {
			t.Errorf("secret ID present = %v, want %v", got, want)
		}
	}
}
