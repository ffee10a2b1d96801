package core

import (
	"context"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// TestInvalidateClassifies pins which replicated changes a standby's
// replica survives: KV and auth data, leases, wrapping tokens, cleanups
// and join challenges leave it current (tokens are dropped one by one);
// everything else it holds marks it stale, and a nil list (a restored
// snapshot) always does. The active node and a sealed node ignore all.
func TestInvalidateClassifies(t *testing.T) {
	tests := []struct {
		keys  []string
		stale bool
	}{
		{[]string{"logical/0b9e/data/app"}, false},
		{[]string{"logical/0b9e/metadata/app", "auth/77aa/user/alice"}, false},
		{[]string{"sys/token/id/00ff", "sys/expire/id/x", "sys/wrapping/y"}, false},
		{[]string{"core/cleanup/1", "core/raft/challenge/n2"}, false},
		{[]string{"sys/policy/reader"}, true},
		{[]string{"core/mounts"}, true},
		{[]string{"core/audit"}, true},
		{[]string{"barrier/keyring"}, true},
		{[]string{"sys/identity/entity/e1"}, true},
		{[]string{"sys/quotas/rate-limit/q"}, true},
		{[]string{"core/cors"}, true},
		{[]string{"logical/0b9e/data/app", "core/mounts"}, true},
		{nil, true},
	}
	c, err := New(Config{Storage: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	c.standbyNow.Store(true)
	c.sealedNow.Store(false)
	for _, tt := range tests {
		before := c.replica.gen.Load()
		c.Invalidate(tt.keys)
		if stale := c.replica.gen.Load() != before; stale != tt.stale {
			t.Errorf("Invalidate(%q): stale = %v, want %v", tt.keys, stale, tt.stale)
		}
	}
	for name, set := range map[string]func(){
		"active": func() { c.standbyNow.Store(false); c.sealedNow.Store(false) },
		"sealed": func() { c.standbyNow.Store(true); c.sealedNow.Store(true) },
	} {
		set()
		before := c.replica.gen.Load()
		c.Invalidate(nil)
		if c.replica.gen.Load() != before {
			t.Errorf("%s node: Invalidate(nil) marked a replica stale", name)
		}
	}
}

// A standby read on a core that is not a standby is served as any request
// (the node became active meanwhile), and on a standby without a current
// replica it is declined so the server forwards it.
func TestStandbyReadDeclinedWithoutReplica(t *testing.T) {
	c, err := New(Config{Storage: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	c.state.Lock()
	c.sealed, c.standby = false, true
	c.state.Unlock()
	ctx := WithStandbyRead(context.Background())
	if _, err := c.Handle(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "secret/data/x", ClientToken: "t"}); err != ErrStandby || !StandbyReadDeclined(ctx) {
		t.Fatalf("standby without replica: %v, declined %v", err, StandbyReadDeclined(ctx))
	}
	if StandbyReadDeclined(context.Background()) {
		t.Fatal("a context without the mark reports a decline")
	}
}
