package kv

import (
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

const ts0 = "2025-03-01T12:00:00.123456789Z"

func TestDataWriteRead(t *testing.T) {
	h := newHarness(t, "2")
	resp := h.must(logical.CreateOperation, "data/app/db", secret("user", "admin", "port", 5432))
	sameJSON(t, "write", resp.Data, `{"created_time":"`+ts0+`","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}`)
	h.clock.advance(time.Second)
	h.must(logical.UpdateOperation, "data/app/db", secret("user", "root"))

	tests := map[string]struct {
		query map[string]any
		want  string
	}{
		"latest":              {nil, `{"data":{"user":"root"},"metadata":{"created_time":"2025-03-01T12:00:01.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}}`},
		"version 0 is latest": {map[string]any{"version": "0"}, `{"data":{"user":"root"},"metadata":{"created_time":"2025-03-01T12:00:01.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}}`},
		"old version":         {map[string]any{"version": "1"}, `{"data":{"user":"admin","port":5432},"metadata":{"created_time":"` + ts0 + `","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}}`},
	}
	for name, tc := range tests {
		resp, err := h.do(logical.ReadOperation, "data/app/db", tc.query)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sameJSON(t, name, resp.Data, tc.want)
		if resp.StatusCode != 0 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
}

func TestDataErrors(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.CreateOperation, "data/k", secret("a", "1"))
	tests := map[string]struct {
		op   logical.Operation
		path string
		data map[string]any
		kind logical.Kind
		msg  string
	}{
		"missing secret":       {logical.ReadOperation, "data/nope", nil, logical.KindNotFound, "Not Found"},
		"missing version":      {logical.ReadOperation, "data/k", map[string]any{"version": "7"}, logical.KindNotFound, "Not Found"},
		"bad version":          {logical.ReadOperation, "data/k", map[string]any{"version": "x"}, logical.KindInvalidRequest, `invalid value for field "version": expected an integer`},
		"negative version":     {logical.ReadOperation, "data/k", map[string]any{"version": "-1"}, logical.KindInvalidRequest, `invalid value for field "version": must not be negative`},
		"no data":              {logical.UpdateOperation, "data/k", map[string]any{}, logical.KindInvalidRequest, "no data provided"},
		"data not an object":   {logical.UpdateOperation, "data/k", map[string]any{"data": []any{1}}, logical.KindInvalidRequest, `invalid value for field "data": expected a map`},
		"bad cas":              {logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": "x"}}, logical.KindInvalidRequest, `invalid value for field "cas": expected an integer`},
		"empty path":           {logical.ReadOperation, "data/", nil, logical.KindNotFound, "unsupported path"},
		"dot segment":          {logical.UpdateOperation, "data/a/../b", secret("a", 1), logical.KindNotFound, "unsupported path"},
		"list data":            {logical.ListOperation, "data/", nil, logical.KindUnsupported, ""},
		"unknown endpoint":     {logical.ReadOperation, "nope/x", nil, logical.KindNotFound, v2PathMessage("get")},
		"0.x write":            {logical.UpdateOperation, "digitalocean-api-key", map[string]any{"value": "x"}, logical.KindNotFound, v2PathMessage("put")},
		"0.x list":             {logical.ListOperation, "", nil, logical.KindNotFound, v2PathMessage("list")},
		"0.x delete":           {logical.DeleteOperation, "app/db", nil, logical.KindNotFound, v2PathMessage("delete")},
		"patch missing secret": {logical.PatchOperation, "data/nope", secret("a", 1), logical.KindNotFound, "Not Found"},
		"no versions given":    {logical.UpdateOperation, "delete/k", map[string]any{}, logical.KindInvalidRequest, "no version number provided"},
		"bad versions":         {logical.UpdateOperation, "destroy/k", map[string]any{"versions": "one"}, logical.KindInvalidRequest, `invalid value for field "versions": expected a list of integers`},
	}
	for name, tc := range tests {
		_, err := h.do(tc.op, tc.path, tc.data)
		wantErr(t, name, err, tc.kind, tc.msg)
	}
}

// v2PathMessage is the 404 for a path outside the KV v2 API on secret/.
func v2PathMessage(verb string) string {
	return `unsupported path: secret/ is a KV version 2 mount, whose secrets are read and written under secret/data/ ` +
		`(this is not a KV version 2 API path); with the CLI, use "kv ` + verb + `"`
}

func TestDeleteUndeleteDestroy(t *testing.T) {
	h := newHarness(t, "2")
	for i := range 3 {
		h.must(logical.UpdateOperation, "data/k", secret("v", i+1))
	}
	const ts = "2025-03-01T12:00:00.123456789Z"
	gone := func(v int, deletion string, destroyed bool) string {
		d := "false"
		if destroyed {
			d = "true"
		}
		return `{"data":null,"metadata":{"created_time":"` + ts + `","custom_metadata":null,"deletion_time":"` + deletion + `","destroyed":` + d + `,"version":` + string(rune('0'+v)) + `}}`
	}
	steps := []struct {
		name    string
		op      logical.Operation
		path    string
		data    map[string]any
		readVer string
		status  int
		want    string
	}{
		{"delete latest", logical.DeleteOperation, "data/k", nil, "3", 404, gone(3, ts, false)},
		{"other versions live", "", "", nil, "2", 0, `{"data":{"v":2},"metadata":{"created_time":"` + ts + `","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}}`},
		{"latest read is 404", "", "", nil, "", 404, gone(3, ts, false)},
		{"delete versions", logical.UpdateOperation, "delete/k", map[string]any{"versions": []any{1, 2, 99}}, "1", 404, gone(1, ts, false)},
		{"undelete", logical.UpdateOperation, "undelete/k", map[string]any{"versions": "1,3"}, "3", 0, `{"data":{"v":3},"metadata":{"created_time":"` + ts + `","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}}`},
		{"destroy", logical.UpdateOperation, "destroy/k", map[string]any{"versions": []any{3}}, "3", 404, gone(3, "", true)},
		{"undelete of destroyed stays destroyed", logical.UpdateOperation, "undelete/k", map[string]any{"versions": []any{3}}, "3", 404, gone(3, "", true)},
	}
	for _, s := range steps {
		if s.op != "" {
			if resp, err := h.do(s.op, s.path, s.data); err != nil || resp != nil {
				t.Fatalf("%s: %v %v", s.name, resp, err)
			}
		}
		q := map[string]any{}
		if s.readVer != "" {
			q["version"] = s.readVer
		}
		resp := h.must(logical.ReadOperation, "data/k", q)
		if resp.StatusCode != s.status {
			t.Errorf("%s: status %d, want %d", s.name, resp.StatusCode, s.status)
		}
		sameJSON(t, s.name, resp.Data, s.want)
	}
	if _, err := h.s.Get(t.Context(), versionKey("k", 3)); err == nil {
		t.Error("destroyed version still in storage")
	}
}

func TestPatch(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.UpdateOperation, "data/k", secret("keep", "1", "drop", "2", "nested", map[string]any{"a": 1, "b": 2}))
	resp := h.must(logical.PatchOperation, "data/k", secret("drop", nil, "new", "3", "nested", map[string]any{"b": nil, "c": 3}))
	sameJSON(t, "patch response", resp.Data, `{"created_time":"`+ts0+`","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}`)
	resp = h.must(logical.ReadOperation, "data/k", nil)
	sameJSON(t, "patched data", resp.Data["data"], `{"keep":"1","new":"3","nested":{"a":1,"c":3}}`)

	_, err := h.do(logical.PatchOperation, "data/k", map[string]any{"data": map[string]any{"x": 1}, "options": map[string]any{"cas": 1}})
	wantErr(t, "patch with stale cas", err, logical.KindInvalidRequest, "check-and-set parameter did not match the current version")
	h.must(logical.PatchOperation, "data/k", map[string]any{"data": map[string]any{"x": 1}, "options": map[string]any{"cas": 2}})

	h.must(logical.DeleteOperation, "data/k", nil)
	resp = h.must(logical.PatchOperation, "data/k", secret("x", 2))
	if resp.StatusCode != 404 {
		t.Errorf("patch of deleted latest: status %d, want 404", resp.StatusCode)
	}
}

func TestSubkeys(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.UpdateOperation, "data/k", secret("a", 1, "b", map[string]any{"c": map[string]any{"d": 1}, "e": "x"}))
	tests := map[string]struct {
		query map[string]any
		want  string
	}{
		"all":     {nil, `{"a":null,"b":{"c":{"d":null},"e":null}}`},
		"depth 1": {map[string]any{"depth": "1"}, `{"a":null,"b":null}`},
		"depth 2": {map[string]any{"depth": "2", "version": "1"}, `{"a":null,"b":{"c":null,"e":null}}`},
	}
	for name, tc := range tests {
		resp := h.must(logical.ReadOperation, "subkeys/k", tc.query)
		sameJSON(t, name, resp.Data["subkeys"], tc.want)
		sameJSON(t, name+" metadata", resp.Data["metadata"], `{"created_time":"`+ts0+`","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}`)
	}
	_, err := h.do(logical.ReadOperation, "subkeys/nope", nil)
	wantErr(t, "missing", err, logical.KindNotFound, "")
}

func TestMetadata(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.UpdateOperation, "data/k", secret("a", 1))
	h.clock.advance(time.Minute)
	h.must(logical.UpdateOperation, "data/k", secret("a", 2))
	h.must(logical.DeleteOperation, "data/k", nil)
	const ts1 = "2025-03-01T12:01:00.123456789Z"
	resp := h.must(logical.ReadOperation, "metadata/k", nil)
	sameJSON(t, "read", resp.Data, `{"cas_required":false,"created_time":"`+ts0+`","current_version":2,"custom_metadata":null,
		"delete_version_after":"0s","max_versions":0,"oldest_version":0,"updated_time":"`+ts1+`",
		"versions":{"1":{"created_time":"`+ts0+`","deletion_time":"","destroyed":false},"2":{"created_time":"`+ts1+`","deletion_time":"`+ts1+`","destroyed":false}}}`)

	h.must(logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": 5, "cas_required": true, "delete_version_after": "1h", "custom_metadata": map[string]any{"owner": "ops", "tier": "1"}})
	h.must(logical.PatchOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"tier": nil, "env": "prod"}, "max_versions": 4})
	resp = h.must(logical.ReadOperation, "metadata/k", nil)
	for field, want := range map[string]string{
		"max_versions": `4`, "cas_required": `true`, "delete_version_after": `"1h0m0s"`, "custom_metadata": `{"owner":"ops","env":"prod"}`,
	} {
		sameJSON(t, "after write+patch: "+field, resp.Data[field], want)
	}
	resp = h.must(logical.ReadOperation, "data/k", map[string]any{"version": "1"})
	sameJSON(t, "custom metadata in data read", resp.Data["metadata"].(map[string]any)["custom_metadata"], `{"owner":"ops","env":"prod"}`)

	_, err := h.do(logical.PatchOperation, "metadata/nope", map[string]any{"max_versions": 1})
	wantErr(t, "patch of missing metadata", err, logical.KindNotFound, "")
	_, err = h.do(logical.UpdateOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"n": 1}})
	wantErr(t, "non-string custom metadata", err, logical.KindInvalidRequest, `custom_metadata: value of "n" must be a string`)

	h.must(logical.UpdateOperation, "metadata/fresh", map[string]any{"max_versions": 2})
	resp = h.must(logical.ReadOperation, "metadata/fresh", nil)
	sameJSON(t, "metadata without versions", resp.Data["current_version"], `0`)

	if resp := h.must(logical.DeleteOperation, "metadata/k", nil); resp != nil {
		t.Errorf("delete answered %v", resp)
	}
	for _, p := range []string{"metadata/k", "data/k"} {
		_, err := h.do(logical.ReadOperation, p, nil)
		wantErr(t, "after metadata delete: "+p, err, logical.KindNotFound, "")
	}
	if _, err := h.s.Get(t.Context(), versionKey("k", 1)); err == nil {
		t.Error("version left in storage after metadata delete")
	}
}

func TestConfig(t *testing.T) {
	h := newHarness(t, "2")
	sameJSON(t, "defaults", h.must(logical.ReadOperation, "config", nil).Data, `{"cas_required":false,"delete_version_after":"0s","max_versions":0}`)
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": 3, "delete_version_after": 90})
	h.must(logical.UpdateOperation, "config", map[string]any{"cas_required": "true"})
	sameJSON(t, "updated", h.must(logical.ReadOperation, "config", nil).Data, `{"cas_required":true,"delete_version_after":"1m30s","max_versions":3}`)
}

func TestExistenceCheck(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.UpdateOperation, "data/k", secret("a", 1))
	v1 := newHarness(t, "1")
	v1.must(logical.UpdateOperation, "k", map[string]any{"a": 1})
	tests := map[string]struct {
		h              *harness
		path           string
		checked, exist bool
	}{
		"data exists":      {h, "data/k", true, true},
		"data new":         {h, "data/other", true, false},
		"metadata exists":  {h, "metadata/k", true, true},
		"metadata new":     {h, "metadata/other", true, false},
		"config":           {h, "config", true, true},
		"delete unchecked": {h, "delete/k", false, false},
		"v1 exists":        {v1, "k", true, true},
		"v1 new":           {v1, "other", true, false},
	}
	for name, tc := range tests {
		checked, exists, err := tc.h.b.ExistenceCheck(t.Context(), &logical.Request{Operation: logical.UpdateOperation, Path: tc.path, Storage: tc.h.s})
		if err != nil || checked != tc.checked || exists != tc.exist {
			t.Errorf("%s: got (%v, %v, %v), want (%v, %v)", name, checked, exists, err, tc.checked, tc.exist)
		}
	}
}

func TestUnknownFieldWarning(t *testing.T) {
	h := newHarness(t, "2")
	resp := h.must(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": 1}, "extra": 1})
	if len(resp.Warnings) != 1 || resp.Warnings[0] != "Endpoint ignored these unrecognized parameters: [extra]" {
		t.Errorf("warnings = %q", resp.Warnings)
	}
}
