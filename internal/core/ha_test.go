package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/core"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/server"
	"github.com/tresorhq/tresor/internal/storage/inmem"
	"github.com/tresorhq/tresor/internal/sys"
)

// haNode is a core sharing store and locks with the other nodes.
func haNode(t *testing.T, store *inmem.Store, locks *inmem.Locks, addr string) *core.Core {
	t.Helper()
	hs := inmem.WithHA(store, locks)
	c, err := core.New(core.Config{
		Storage: hs, StorageType: "inmem",
		System:   func(c *core.Core) logical.Backend { return sys.New(c) },
		Backends: server.Backends(), DefaultLeaseTTL: config.DefaultLeaseTTL, MaxLeaseTTL: config.DefaultMaxLeaseTTL,
		HA: &core.HA{Backend: hs, APIAddr: addr, ClusterAddr: addr + "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestActiveStandby(t *testing.T) {
	ctx := context.Background()
	store, locks := inmem.New(), inmem.NewLocks()
	a := haNode(t, store, locks, "http://a")
	b := haNode(t, store, locks, "http://b")
	keys, root, err := a.Initialize(ctx, seal.Config{SecretShares: 1, SecretThreshold: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Unseal(ctx, keys[0]); !ok || err != nil {
		t.Fatalf("unseal a: %v %v", ok, err)
	}
	waitFor(t, "a active", func() bool { return !a.Standby() })
	if ok, err := b.Unseal(ctx, keys[0]); !ok || err != nil {
		t.Fatalf("unseal b: %v %v", ok, err)
	}
	if !b.Standby() {
		t.Fatal("b is not a standby")
	}
	st, err := b.SealStatus(ctx)
	if err != nil || st.Sealed || !st.Standby {
		t.Fatalf("b status: %+v %v", st, err)
	}
	ls, err := b.Leader(ctx)
	if err != nil || ls.IsSelf || ls.LeaderAddress != "http://a" || !ls.HAEnabled {
		t.Fatalf("b leader: %+v %v", ls, err)
	}
	if ls, _ := a.Leader(ctx); !ls.IsSelf || ls.ActiveTime.IsZero() {
		t.Fatalf("a leader: %+v", ls)
	}

	do := func(c *core.Core, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
		return c.Handle(ctx, &logical.Request{Operation: op, Path: path, ClientToken: root, Data: data})
	}
	if _, err := do(b, logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, core.ErrStandby) {
		t.Fatalf("request on standby: %v, want ErrStandby", err)
	}
	if _, err := do(a, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(a, logical.UpdateOperation, "secret/data/app", map[string]any{"data": map[string]any{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(a, logical.UpdateOperation, "sys/policies/acl/p", map[string]any{"policy": `path "x" { capabilities = ["read"] }`}); err != nil {
		t.Fatal(err)
	}
	// A keyring rotation on the active node is picked up by the next one.
	if _, err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := do(a, logical.UpdateOperation, "secret/data/app", map[string]any{"data": map[string]any{"v": "2"}}); err != nil {
		t.Fatal(err)
	}

	// The active node seals: b takes over with everything a wrote.
	if err := a.Seal(ctx, root); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b active", func() bool { return !b.Standby() })
	resp, err := do(b, logical.ReadOperation, "secret/data/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	raw, _ := json.Marshal(resp.Data["data"]) // a KV read passes its stored JSON through
	if err := json.Unmarshal(raw, &data); err != nil || data["v"] != "2" {
		t.Fatalf("b reads %s (%v), want v=2", raw, err)
	}
	if _, err := do(b, logical.ReadOperation, "sys/policies/acl/p", nil); err != nil {
		t.Fatalf("policy written on a, read on b: %v", err)
	}

	// a comes back as a standby; when b loses the lock, b drops its state
	// and one of them is active again.
	if ok, err := a.Unseal(ctx, keys[0]); !ok || err != nil {
		t.Fatalf("unseal a again: %v %v", ok, err)
	}
	if !a.Standby() {
		t.Fatal("a should be a standby while b holds the lock")
	}
	locks.Break("core/lock")
	waitFor(t, "an active node", func() bool { return a.Standby() != b.Standby() })
	active := a
	if a.Standby() {
		active = b
	}
	if _, err := do(active, logical.ReadOperation, "secret/data/app", nil); err != nil {
		t.Fatal(err)
	}
}
