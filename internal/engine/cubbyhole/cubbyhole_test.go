package cubbyhole

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestCubbyhole(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s := inmem.New()
	alice := &logical.TokenInfo{Accessor: "acc-alice"}
	bob := &logical.TokenInfo{Accessor: "acc-bob", Root: true}
	do := func(tok *logical.TokenInfo, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
		return b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: s, Token: tok})
	}
	steps := []struct {
		name string
		tok  *logical.TokenInfo
		op   logical.Operation
		path string
		data map[string]any
		want string // JSON of resp.Data, "" for a nil response
		kind logical.Kind
		msg  string
	}{
		{name: "write", tok: alice, op: logical.CreateOperation, path: "app/pw", data: map[string]any{"pw": "s3cret", "n": 1}},
		{name: "write another", tok: alice, op: logical.UpdateOperation, path: "top", data: map[string]any{"x": "y"}},
		{name: "read own", tok: alice, op: logical.ReadOperation, path: "app/pw", want: `{"pw":"s3cret","n":1}`},
		{name: "list own", tok: alice, op: logical.ListOperation, path: "", want: `{"keys":["app/","top"]}`},
		{name: "list folder", tok: alice, op: logical.ListOperation, path: "app/", want: `{"keys":["pw"]}`},
		{name: "other token sees nothing", tok: bob, op: logical.ReadOperation, path: "app/pw", kind: logical.KindNotFound},
		{name: "other token lists nothing", tok: bob, op: logical.ListOperation, path: "", kind: logical.KindNotFound},
		{name: "no token", op: logical.ReadOperation, path: "app/pw", kind: logical.KindPermissionDenied, msg: "permission denied"},
		{name: "empty write", tok: alice, op: logical.UpdateOperation, path: "x", data: map[string]any{}, kind: logical.KindInvalidRequest, msg: "missing data fields"},
		{name: "missing path", tok: alice, op: logical.ReadOperation, path: "", kind: logical.KindInvalidRequest, msg: "missing path"},
		{name: "delete", tok: alice, op: logical.DeleteOperation, path: "top"},
		{name: "read deleted", tok: alice, op: logical.ReadOperation, path: "top", kind: logical.KindNotFound},
	}
	for _, st := range steps {
		resp, err := do(st.tok, st.op, st.path, st.data)
		if st.kind != 0 {
			e, ok := logical.AsError(err)
			if !ok || e.Kind != st.kind || (st.msg != "" && e.Error() != st.msg) {
				t.Errorf("%s: err = %v, want kind %d %q", st.name, err, st.kind, st.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", st.name, err)
			continue
		}
		if st.want == "" {
			if resp != nil {
				t.Errorf("%s: got %v, want no response", st.name, resp)
			}
			continue
		}
		var got, want any
		raw, _ := json.Marshal(resp.Data)
		_ = json.Unmarshal(raw, &got)
		_ = json.Unmarshal([]byte(st.want), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %s, want %s", st.name, raw, st.want)
		}
	}

	// Revoking alice's token empties her cubbyhole and nobody else's.
	if _, err := do(bob, logical.UpdateOperation, "keep", map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeToken(context.Background(), s, "acc-alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := do(alice, logical.ListOperation, "", nil); err == nil {
		t.Error("alice's cubbyhole survived revocation")
	}
	if _, err := do(bob, logical.ReadOperation, "keep", nil); err != nil {
		t.Errorf("bob's cubbyhole lost: %v", err)
	}
	if err := b.RevokeToken(context.Background(), s, "../x"); err == nil {
		t.Error("RevokeToken accepted a bad accessor")
	}
}

func TestExistenceCheck(t *testing.T) {
	b, _ := New()
	s := inmem.New()
	tok := &logical.TokenInfo{Accessor: "a"}
	ctx := context.Background()
	if _, err := b.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "k", Data: map[string]any{"v": 1}, Storage: s, Token: tok}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"k": true, "other": false} {
		checked, exists, err := b.ExistenceCheck(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: path, Storage: s, Token: tok})
		if err != nil || !checked || exists != want {
			t.Errorf("%s: (%v, %v, %v), want exists=%v", path, checked, exists, err, want)
		}
	}
}
