package kv

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestV1(t *testing.T) {
	h := newHarness(t, "1")
	if h.b.Version() != 1 {
		t.Fatalf("version %d", h.b.Version())
	}
	if resp := h.must(logical.CreateOperation, "app/db", map[string]any{"user": "a", "limit": "anything"}); resp != nil {
		t.Errorf("write answered %v (arbitrary keys must not warn)", resp)
	}
	h.must(logical.UpdateOperation, "app/db", map[string]any{"user": "b"}) // replaces
	h.must(logical.UpdateOperation, "app/web/x", map[string]any{"k": 1})
	h.must(logical.UpdateOperation, "top", map[string]any{"k": 1})

	sameJSON(t, "read", h.must(logical.ReadOperation, "app/db", nil).Data, `{"user":"b"}`)
	sameJSON(t, "list root", h.must(logical.ListOperation, "", nil).Data, `{"keys":["app/","top"]}`)
	sameJSON(t, "list folder", h.must(logical.ListOperation, "app/", nil).Data, `{"keys":["db","web/"]}`)

	errs := map[string]struct {
		op   logical.Operation
		path string
		data map[string]any
		kind logical.Kind
		msg  string
	}{
		"read missing":             {logical.ReadOperation, "nope", nil, logical.KindNotFound, "Not Found"},
		"list empty":               {logical.ListOperation, "nope/", nil, logical.KindNotFound, "Not Found"},
		"empty write":              {logical.UpdateOperation, "x", map[string]any{}, logical.KindInvalidRequest, "missing data fields"},
		"empty path":               {logical.UpdateOperation, "", map[string]any{"a": 1}, logical.KindNotFound, "unsupported path"},
		"patch":                    {logical.PatchOperation, "app/db", map[string]any{"a": 1}, logical.KindUnsupported, ""},
		"bad list limit":           {logical.ListOperation, "", map[string]any{"limit": "x"}, logical.KindInvalidRequest, `invalid value for field "limit": expected an integer`},
		"filter without recursive": {logical.ListOperation, "", map[string]any{"filter": "a"}, logical.KindInvalidRequest, "filter needs recursive=true"},
		"huge filter":              {logical.ListOperation, "", map[string]any{"recursive": "true", "filter": strings.Repeat("*", 300)}, logical.KindInvalidRequest, "filter is longer than 256 bytes"},
	}
	for name, tc := range errs {
		_, err := h.do(tc.op, tc.path, tc.data)
		wantErr(t, name, err, tc.kind, tc.msg)
	}

	h.must(logical.DeleteOperation, "app/db", nil)
	_, err := h.do(logical.ReadOperation, "app/db", nil)
	wantErr(t, "read after delete", err, logical.KindNotFound, "")
}

func TestRecursiveList(t *testing.T) {
	keys := []string{"a", "a/b", "a/c/d", "a-b", "b/x/y/z", "c"}
	for _, version := range []string{"1", "2"} {
		h := newHarness(t, version)
		listPath := "metadata/"
		for _, k := range keys {
			if version == "1" {
				h.must(logical.UpdateOperation, k, map[string]any{"v": 1})
			} else {
				h.must(logical.UpdateOperation, "data/"+k, secret("v", 1))
			}
		}
		if version == "1" {
			listPath = ""
		}
		tests := map[string]struct {
			prefix string
			query  map[string]any
			want   string // "" for 404
		}{
			"everything":            {"", map[string]any{"recursive": "true"}, `["a","a-b","a/b","a/c/d","b/x/y/z","c"]`},
			"below a folder":        {"a/", map[string]any{"recursive": "true"}, `["b","c/d"]`},
			"folder without slash":  {"b", map[string]any{"recursive": "true"}, `["x/y/z"]`},
			"first page":            {"", map[string]any{"recursive": "true", "limit": "2"}, `["a","a-b"]`},
			"next page":             {"", map[string]any{"recursive": "true", "limit": "2", "after": "a-b"}, `["a/b","a/c/d"]`},
			"after inside a folder": {"", map[string]any{"recursive": "true", "after": "a/c"}, `["a/c/d","b/x/y/z","c"]`},
			"last page":             {"", map[string]any{"recursive": "true", "after": "b/x/y/z"}, `["c"]`},
			"past the end":          {"", map[string]any{"recursive": "true", "after": "c"}, ""},
			"huge limit is capped":  {"", map[string]any{"recursive": "true", "limit": "99999"}, `["a","a-b","a/b","a/c/d","b/x/y/z","c"]`},
			"plain list":            {"", nil, `["a","a-b","a/","b/","c"]`},
			"missing prefix":        {"zzz/", map[string]any{"recursive": "true"}, ""},
			"search contains":       {"", map[string]any{"recursive": "true", "filter": "C"}, `["a/c/d","c"]`},
			"search glob":           {"", map[string]any{"recursive": "true", "filter": "a/*"}, `["a/b","a/c/d"]`},
			"search one char":       {"", map[string]any{"recursive": "true", "filter": "a?b"}, `["a-b","a/b"]`},
			"search below a folder": {"a/", map[string]any{"recursive": "true", "filter": "*d"}, `["c/d"]`},
			"search paged":          {"", map[string]any{"recursive": "true", "filter": "a*", "limit": "2", "after": "a-b"}, `["a/b","a/c/d"]`},
			"search no match":       {"", map[string]any{"recursive": "true", "filter": "zz"}, ""},
		}
		for name, tc := range tests {
			resp, err := h.do(logical.ListOperation, listPath+tc.prefix, tc.query)
			if tc.want == "" {
				wantErr(t, "v"+version+" "+name, err, logical.KindNotFound, "")
				continue
			}
			if err != nil {
				t.Errorf("v%s %s: %v", version, name, err)
				continue
			}
			sameJSON(t, "v"+version+" "+name, resp.Data["keys"], tc.want)
		}
	}
}

func TestUpgrade(t *testing.T) {
	s := inmem.New()
	v1 := newHarnessOn(t, "1", s)
	v1.must(logical.UpdateOperation, "app/db", map[string]any{"user": "a", "n": 1})
	v1.must(logical.UpdateOperation, "top", map[string]any{"k": "v"})
	v1.must(logical.UpdateOperation, "meta/x", map[string]any{"k": "looks like a v2 prefix"})

	v2 := newHarnessOn(t, "2", s)
	for path, want := range map[string]string{
		"app/db": `{"user":"a","n":1}`,
		"top":    `{"k":"v"}`,
		"meta/x": `{"k":"looks like a v2 prefix"}`,
	} {
		resp := v2.must(logical.ReadOperation, "data/"+path, nil)
		sameJSON(t, "upgraded "+path, resp.Data["data"], want)
		if v := resp.Data["metadata"].(map[string]any)["version"]; v != 1 {
			t.Errorf("%s: version %v, want 1", path, v)
		}
		if _, err := s.Get(t.Context(), path); err == nil {
			t.Errorf("v1 key %s left behind", path)
		}
	}
	sameJSON(t, "listing after upgrade", v2.must(logical.ListOperation, "metadata/", nil).Data["keys"], `["app/","meta/","top"]`)

	// A second start finds the marker and leaves v2 data alone.
	v2.must(logical.UpdateOperation, "data/top", secret("k", "w"))
	if err := s.Put(t.Context(), &storage.Entry{Key: "stray", Value: mustJSON(t, map[string]any{"a": 1})}); err != nil {
		t.Fatal(err)
	}
	again := newHarnessOn(t, "2", s)
	if v := again.must(logical.ReadOperation, "metadata/top", nil).Data["current_version"]; v != 2 {
		t.Errorf("current_version after restart %v, want 2", v)
	}
	if _, err := again.do(logical.ReadOperation, "data/stray", nil); err == nil {
		t.Error("upgrade ran twice")
	}
}

func TestFactoryRejectsVersion(t *testing.T) {
	_, err := Factory(context.Background(), &logical.BackendConfig{Storage: inmem.New(), Options: map[string]string{"version": "3"}})
	wantErr(t, "version 3", err, logical.KindInvalidRequest, `invalid KV version "3": must be 1 or 2`)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
