package kv

import (
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// TestReadSeesOtherWriters: a record changed behind the backend's back
// (another backend instance over the same storage, as a move or an upgrade
// does) is read afresh, never served from memory.
func TestReadSeesOtherWriters(t *testing.T) {
	h := newHarness(t, "2")
	other := newHarnessOn(t, "2", h.s)
	h.must(logical.CreateOperation, "data/app", secret("v", "one"))
	read := func(want string) {
		t.Helper()
		resp := h.must(logical.ReadOperation, "data/app", nil)
		sameJSON(t, "read", resp.Data["data"], `{"v":"`+want+`"}`)
	}
	read("one")
	read("one")
	other.must(logical.UpdateOperation, "data/app", secret("v", "two"))
	read("two")
	other.must(logical.DeleteOperation, "metadata/app", nil)
	if _, err := h.do(logical.ReadOperation, "data/app", nil); err == nil {
		t.Fatal("a secret deleted by another writer is still served")
	}
}
