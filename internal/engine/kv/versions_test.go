package kv

import (
	"fmt"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestMaxVersions(t *testing.T) {
	tests := map[string]struct {
		mountMax, keyMax int
		writes           int
		wantOldest       int
		wantKept         int
	}{
		"default keeps 10":         {writes: 12, wantOldest: 3, wantKept: 10},
		"default, at the limit":    {writes: 10, wantOldest: 1, wantKept: 10},
		"default, below limit":     {writes: 3, wantOldest: 0, wantKept: 3},
		"mount limit":              {mountMax: 3, writes: 5, wantOldest: 3, wantKept: 3},
		"key limit":                {keyMax: 2, writes: 5, wantOldest: 4, wantKept: 2},
		"smaller of mount and key": {mountMax: 2, keyMax: 4, writes: 5, wantOldest: 4, wantKept: 2},
	}
	for name, tc := range tests {
		h := newHarness(t, "2")
		if tc.mountMax > 0 {
			h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": tc.mountMax})
		}
		if tc.keyMax > 0 {
			h.must(logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": tc.keyMax})
		}
		for i := range tc.writes {
			h.must(logical.UpdateOperation, "data/k", secret("v", i+1))
		}
		md := h.must(logical.ReadOperation, "metadata/k", nil).Data
		if md["oldest_version"] != tc.wantOldest || len(md["versions"].(map[string]any)) != tc.wantKept {
			t.Errorf("%s: oldest %v, %d versions; want %d, %d", name, md["oldest_version"], len(md["versions"].(map[string]any)), tc.wantOldest, tc.wantKept)
		}
		for n := 1; n <= tc.writes; n++ {
			_, err := h.s.Get(t.Context(), versionKey("k", n))
			if kept := n > tc.writes-tc.wantKept; kept != (err == nil) {
				t.Errorf("%s: version %d in storage = %v, want %v", name, n, err == nil, kept)
			}
			_, err = h.do(logical.ReadOperation, "data/k", map[string]any{"version": fmt.Sprint(n)})
			if (err == nil) != (n > tc.writes-tc.wantKept) {
				t.Errorf("%s: read of version %d: %v", name, n, err)
			}
		}
	}
}

func TestDeleteVersionAfter(t *testing.T) {
	tests := map[string]struct {
		mount, key string
		wait       time.Duration
		deleted    bool
	}{
		"mount setting, not yet": {mount: "1h", wait: 59 * time.Minute},
		"mount setting, passed":  {mount: "1h", wait: time.Hour, deleted: true},
		"key setting wins":       {mount: "1h", key: "10m", wait: 10 * time.Minute, deleted: true},
		"no setting":             {wait: 1000 * time.Hour},
	}
	for name, tc := range tests {
		h := newHarness(t, "2")
		if tc.mount != "" {
			h.must(logical.UpdateOperation, "config", map[string]any{"delete_version_after": tc.mount})
		}
		if tc.key != "" {
			h.must(logical.UpdateOperation, "metadata/k", map[string]any{"delete_version_after": tc.key})
		}
		h.must(logical.UpdateOperation, "data/k", secret("a", 1))
		h.clock.advance(tc.wait)
		resp := h.must(logical.ReadOperation, "data/k", nil)
		if got := resp.StatusCode == 404; got != tc.deleted {
			t.Errorf("%s: deleted = %v, want %v", name, got, tc.deleted)
		}
		if tc.deleted {
			want := t0.Add(tc.wait).UTC().Format(time.RFC3339Nano)
			if got := resp.Data["metadata"].(map[string]any)["deletion_time"]; got != want {
				t.Errorf("%s: deletion_time %v, want %v", name, got, want)
			}
		}
	}
}
