package pki

import (
	"crypto/rsa"
	"sync"
	"testing"
)

// TestKeyPoolHandsOutEachKeyOnce draws keys concurrently from the pool and
// checks that no two requests ever get the same key.
func TestKeyPoolHandsOutEachKeyOnce(t *testing.T) {
	var p keyPool
	spec := keySpec{"rsa", 2048}
	const n = 12
	keys := make([]*rsa.PrivateKey, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := p.get(spec)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.(*rsa.PrivateKey)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, k := range keys {
		if k == nil {
			t.Fatal("missing key")
		}
		id := k.N.String()
		if seen[id] {
			t.Fatal("the pool handed out a key twice")
		}
		seen[id] = true
	}
	// EC keys never go through the pool.
	if k, err := p.get(keySpec{"ec", 256}); err != nil || k == nil {
		t.Fatal(err)
	}
	if len(p.pools) != 1 {
		t.Errorf("pools: %d", len(p.pools))
	}
}
