package quota

import (
	"context"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestAllowMostSpecificRule(t *testing.T) {
	ctx := context.Background()
	m, err := Open(ctx, inmem.New())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	for _, r := range []Rule{
		{Name: "global", Path: "", Rate: 100},
		{Name: "kv", Path: "secret/", Rate: 2},
		{Name: "app", Path: "secret/data/app*", Rate: 1, BlockInterval: 10 * time.Second},
	} {
		if err := m.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name, path, client string
		allowed            bool
	}{
		{"kv first", "secret/data/x", "1.1.1.1", true},
		{"kv second", "secret/data/y", "1.1.1.1", true},
		{"kv third is over", "secret/data/x", "1.1.1.1", false},
		{"another client has its own bucket", "secret/data/x", "2.2.2.2", true},
		{"global rule elsewhere", "sys/mounts", "1.1.1.1", true},
		{"app rule", "secret/data/app1", "3.3.3.3", true},
		{"app rule over, blocks", "secret/data/app2", "3.3.3.3", false},
	}
	for _, s := range steps {
		ok, _ := m.Allow(s.path, s.client)
		if ok != s.allowed {
			t.Fatalf("%s: Allow(%s, %s) = %v", s.name, s.path, s.client, ok)
		}
	}
	now = now.Add(2 * time.Second)
	if ok, _ := m.Allow("secret/data/x", "1.1.1.1"); !ok {
		t.Fatal("bucket did not refill")
	}
	if ok, wait := m.Allow("secret/data/app1", "3.3.3.3"); ok || wait <= 0 {
		t.Fatalf("blocked client allowed (%v, %v)", ok, wait)
	}
	now = now.Add(10 * time.Second)
	if ok, _ := m.Allow("secret/data/app1", "3.3.3.3"); !ok {
		t.Fatal("block did not end")
	}
	// Rules survive a reopen.
	m2, err := Open(ctx, m.store)
	if err != nil || len(m2.List()) != 3 {
		t.Fatalf("reopen: %v %v", m2.List(), err)
	}
}

func TestValidate(t *testing.T) {
	for name, r := range map[string]Rule{
		"no name":      {Rate: 1},
		"zero rate":    {Name: "a"},
		"inner glob":   {Name: "a", Rate: 1, Path: "a*/b"},
		"slash name":   {Name: "a/b", Rate: 1},
		"neg interval": {Name: "a", Rate: 1, Interval: -time.Second},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkAllowNoRules(b *testing.B) {
	m, _ := Open(context.Background(), inmem.New())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Allow("secret/data/app", "127.0.0.1")
	}
}
