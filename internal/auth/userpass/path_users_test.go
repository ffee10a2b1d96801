package userpass

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestUserWrites(t *testing.T) {
	tests := map[string]struct {
		path    string
		data    map[string]any
		status  int
		message string
	}{
		"create without password": {path: "users/nopass", data: map[string]any{"token_policies": "a"}, status: 400, message: "missing password"},
		"both policy spellings":   {path: "users/x", data: map[string]any{"password": "p", "policies": "a", "token_policies": "b"}, status: 400, message: `"token_policies" and "policies" cannot both be specified`},
		"bad token type":          {path: "users/x", data: map[string]any{"password": "p", "token_type": "weird"}, status: 400, message: `invalid 'token_type' value "weird"`},
		"bad bound cidr":          {path: "users/x", data: map[string]any{"password": "p", "token_bound_cidrs": "10.0.0.0/33"}, status: 400, message: `invalid token_bound_cidrs: "10.0.0.0/33" is not a CIDR block or IP address`},
		"ttl over max ttl":        {path: "users/x", data: map[string]any{"password": "p", "token_ttl": "2h", "token_max_ttl": "1h"}, status: 400, message: `"token_ttl" value must not be greater than "token_max_ttl" value`},
		"password of unknown":     {path: "users/ghost/password", data: map[string]any{"password": "p"}, status: 400, message: "username does not exist"},
		"policies of unknown":     {path: "users/ghost/policies", data: map[string]any{"policies": "a"}, status: 400, message: "username does not exist"},
		"password missing":        {path: "users/ghost/password", data: map[string]any{}, status: 400, message: `missing required field "password"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newTestBackend(t, nil)
			_, err := b.do(t, logical.UpdateOperation, tc.path, tc.data)
			wantError(t, err, tc.status, tc.message)
		})
	}
}

func TestUserReadListDelete(t *testing.T) {
	b := newTestBackend(t, nil)
	b.must(t, logical.CreateOperation, "users/Admin", map[string]any{
		"password": "s3cret", "policies": "Ops, dev", "token_ttl": "1h", "token_max_ttl": 7200,
		"token_bound_cidrs": []any{"10.0.0.0/8"}, "token_num_uses": 3,
	})
	b.must(t, logical.CreateOperation, "users/bob", map[string]any{"password": "x"})

	resp := b.must(t, logical.ReadOperation, "users/ admin ", nil)
	want := map[string]any{
		"token_policies": []string{"dev", "ops"}, "policies": []string{"dev", "ops"},
		"token_ttl": int64(3600), "token_max_ttl": int64(7200), "token_num_uses": 3,
		"token_bound_cidrs": []string{"10.0.0.0/8"}, "token_type": "default", "token_no_default_policy": false,
	}
	for k, v := range want {
		if got := resp.Data[k]; !equalAny(got, v) {
			t.Errorf("read %s = %#v, want %#v", k, got, v)
		}
	}
	if _, ok := resp.Data["password"]; ok {
		t.Error("read shows the password")
	}

	list := b.must(t, logical.ListOperation, "users/", nil)
	if got := list.Data["keys"]; !equalAny(got, []string{"admin", "bob"}) {
		t.Errorf("list = %v, want [admin bob]", got)
	}

	// Neither the stored entry nor anything else holds the clear password.
	e, err := b.store.Get(context.Background(), "user/admin")
	if err != nil || bytes.Contains(e.Value, []byte("s3cret")) {
		t.Fatalf("stored user: err %v, clear password stored: %v", err, err == nil)
	}

	b.must(t, logical.UpdateOperation, "users/ADMIN/policies", map[string]any{"token_policies": []any{"x"}})
	resp = b.must(t, logical.ReadOperation, "users/admin", nil)
	if got := resp.Data["token_policies"]; !equalAny(got, []string{"x"}) || resp.Data["token_ttl"] != int64(3600) {
		t.Errorf("after policies update: %v", resp.Data)
	}

	b.must(t, logical.DeleteOperation, "users/aDmin", nil)
	if resp := b.must(t, logical.ReadOperation, "users/admin", nil); resp != nil {
		t.Errorf("read after delete = %v, want nothing", resp.Data)
	}
	exists := func(path string) bool {
		_, ok, err := b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Storage: b.store})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists("users/admin") || !exists("users/BOB") {
		t.Error("existence check wrong after delete")
	}
}

func equalAny(a, b any) bool {
	switch av := a.(type) {
	case []string:
		bv, ok := b.([]string)
		return ok && slices.Equal(av, bv)
	}
	return a == b
}
