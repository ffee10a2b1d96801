package quota

import (
	"context"
	"errors"
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

func TestConfigExemptAndFigures(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	m, err := Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	if err := m.Put(ctx, Rule{Name: "all", Rate: 2, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetConfig(ctx, Config{ExemptPaths: []string{"/v1/sys/exact", "auth/approle/*"}, ResponseHeaders: true}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, path       string
		applied, allowed bool
		remaining        uint64
	}{
		{"exact exempt path", "sys/exact", false, true, 0},
		{"below an exact exempt path is not exempt", "sys/exact/more", true, true, 1},
		{"prefix exempt path", "auth/approle/login", false, true, 0},
		{"last allowed", "secret/x", true, true, 0},
		{"refused", "secret/x", true, false, 0},
	}
	for _, s := range steps {
		d := m.Take(s.path, "1.1.1.1")
		if d.Applied != s.applied || d.Allowed != s.allowed || d.Remaining != s.remaining {
			t.Errorf("%s: %+v", s.name, d)
		}
		if d.Applied && (d.Limit != 2 || !d.Reset.After(now)) {
			t.Errorf("%s: limit %d reset %v", s.name, d.Limit, d.Reset)
		}
	}
	// The configuration survives a reopen, exempt paths normalised.
	m2, err := Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	c := m2.Config()
	if !c.ResponseHeaders || c.AuditRejected || len(c.ExemptPaths) != 2 || c.ExemptPaths[0] != "sys/exact" {
		t.Errorf("reopened config = %+v", c)
	}
	if got := m2.List(); len(got) != 1 || got[0] != "all" {
		t.Errorf("rules after reopen = %v; the config must not read as a rule", got)
	}
	for _, bad := range []string{"", "a*b", "/v1/"} {
		if err := m2.SetConfig(ctx, Config{ExemptPaths: []string{bad}}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("exempt path %q: %v; want ErrInvalidConfig", bad, err)
		}
	}
}

func BenchmarkTake(b *testing.B) {
	ctx := context.Background()
	for name, exempt := range map[string][]string{"no exempt paths": nil, "four exempt paths": {"sys/a", "sys/b/*", "auth/x/*", "secret/data/skip"}} {
		b.Run(name, func(b *testing.B) {
			m, err := Open(ctx, inmem.New())
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Put(ctx, Rule{Name: "kv", Path: "secret/", Rate: 1e12}); err != nil {
				b.Fatal(err)
			}
			if err := m.SetConfig(ctx, Config{ExemptPaths: exempt, ResponseHeaders: true}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if d := m.Take("secret/data/app", "10.0.0.1"); !d.Allowed {
					b.Fatal("refused")
				}
			}
		})
	}
}
