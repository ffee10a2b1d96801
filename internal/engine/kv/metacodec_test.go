package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func sampleMetas() map[string]*keyMeta {
	del := t0.Add(time.Hour)
	return map[string]*keyMeta{
		"new key": {Created: t0, Updated: t0, Versions: map[int]*versionInfo{}},
		"full": {
			Current: 12, Oldest: 3, MaxVersions: 10, CASRequired: true, DeleteVersionAfter: 90 * time.Minute,
			Custom:  map[string]string{"owner": "ops", "": "empty key", "unicode": "ключ"},
			Created: t0, Updated: t0.Add(time.Second),
			Versions: map[int]*versionInfo{
				3:  {Created: t0},
				7:  {Created: t0, Deletion: del},
				12: {Created: t0, Destroyed: true},
			},
			DataVersion: 11, Data: json.RawMessage(`{"password":"hunter2","n":1}`),
		},
		"far future deletion": {Current: 1, Versions: map[int]*versionInfo{1: {Created: t0, Deletion: time.Date(9999, 1, 1, 0, 0, 0, 1, time.UTC)}}},
		"before 1970":         {Current: 1, Created: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), Versions: map[int]*versionInfo{1: {}}},
	}
}

// TestMetaCodecRoundTrip: every field survives the binary form, which is
// deterministic, and JSON records written before it still decode.
func TestMetaCodecRoundTrip(t *testing.T) {
	for name, m := range sampleMetas() {
		t.Run(name, func(t *testing.T) {
			raw := encodeMeta(m)
			if !bytes.Equal(raw, encodeMeta(m)) {
				t.Fatal("two encodings of the same record differ")
			}
			got, err := decodeMeta(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
			}
			legacy, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			fromJSON, err := decodeMeta(legacy)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encodeMeta(fromJSON), raw) {
				t.Fatalf("a JSON record decodes to a different record:\n%+v\n%+v", fromJSON, m)
			}
		})
	}
}

// TestMetaCodecRefusesDamage: every truncation and every trailing byte is
// refused, never decoded into a wrong record.
func TestMetaCodecRefusesDamage(t *testing.T) {
	raw := encodeMeta(sampleMetas()["full"])
	for i := range len(raw) {
		if _, err := decodeMeta(raw[:i]); err == nil {
			t.Errorf("truncated to %d of %d bytes: decoded", i, len(raw))
		}
	}
	if _, err := decodeMeta(append(raw[:len(raw):len(raw)], 0)); err == nil {
		t.Error("trailing byte: decoded")
	}
	for _, bad := range [][]byte{{2}, {metaFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeMeta(bad); err == nil {
			t.Errorf("%x: decoded", bad)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, m := range sampleMetas() {
		f.Add(encodeMeta(m))
	}
	f.Add([]byte(`{"current":1,"versions":{"1":{"created":"2025-03-01T12:00:00Z"}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeMeta(raw)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a record that decodes the same.
		again, err := decodeMeta(encodeMeta(m))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !bytes.Equal(encodeMeta(again), encodeMeta(m)) {
			t.Fatalf("unstable record: %+v vs %+v", again, m)
		}
	})
}

// rawRecords returns every stored record whose value contains s.
func rawRecords(t *testing.T, s storage.Store, s2 string) []string {
	t.Helper()
	var found []string
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := s.List(context.Background(), prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			e, err := s.Get(context.Background(), prefix+k)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(e.Value, []byte(s2)) {
				found = append(found, prefix+k)
			}
		}
	}
	walk("")
	return found
}

// TestMetaCarriesCurrentData: a read of the latest version is served from
// the metadata record's copy; destroying the version removes the copy as
// well as the version record, so no destroyed value stays in storage.
func TestMetaCarriesCurrentData(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.CreateOperation, "data/app", secret("v", "first-value"))
	h.must(logical.UpdateOperation, "data/app", secret("v", "second-value"))
	meta, err := loadMeta(context.Background(), h.s, "app")
	if err != nil || meta.DataVersion != 2 || !strings.Contains(string(meta.Data), "second-value") {
		t.Fatalf("metadata carries %d %s (%v), want version 2's data", meta.DataVersion, meta.Data, err)
	}
	// The version record is removed behind the backend's back: the read
	// still answers from the copy, which proves it takes one lookup.
	if err := h.s.Delete(context.Background(), versionKey("app", 2)); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "read", h.must(logical.ReadOperation, "data/app", nil).Data["data"], `{"v":"second-value"}`)
	sameJSON(t, "subkeys", h.must(logical.ReadOperation, "subkeys/app", nil).Data["subkeys"], `{"v":null}`)
	h.must(logical.CreateOperation, "data/app", secret("v", "third-value"))
	h.must(logical.UpdateOperation, "destroy/app", map[string]any{"versions": []any{3}})
	if got := rawRecords(t, h.s, "third-value"); len(got) != 0 {
		t.Fatalf("destroyed value still stored in %v", got)
	}
	resp, err := h.do(logical.ReadOperation, "data/app", nil)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("read of a destroyed latest version: %+v %v", resp, err)
	}
	sameJSON(t, "older version", h.must(logical.ReadOperation, "data/app", map[string]any{"version": 1}).Data["data"], `{"v":"first-value"}`)
}

// TestJSONMetaRecords: a secret stored before the binary form (JSON
// metadata without the data copy) reads through its version record, and
// its next write rewrites the metadata in the binary form.
func TestJSONMetaRecords(t *testing.T) {
	h := newHarness(t, "2")
	ctx := context.Background()
	old := &keyMeta{Current: 1, Created: t0, Updated: t0, Versions: map[int]*versionInfo{1: {Created: t0}}}
	if err := putJSON(ctx, h.s, metaKey("legacy"), old); err != nil {
		t.Fatal(err)
	}
	if err := putJSON(ctx, h.s, versionKey("legacy", 1), map[string]any{"k": "from-version-record"}); err != nil {
		t.Fatal(err)
	}
	resp := h.must(logical.ReadOperation, "data/legacy", nil)
	sameJSON(t, "read", resp.Data["data"], `{"k":"from-version-record"}`)
	if got := resp.Data["metadata"].(map[string]any)["version"]; got != 1 {
		t.Fatalf("version %v", got)
	}
	h.must(logical.UpdateOperation, "data/legacy", secret("k", "two"))
	e, err := h.s.Get(ctx, metaKey("legacy"))
	if err != nil || e.Value[0] != metaFormat {
		t.Fatalf("metadata not rewritten in the binary form: %q %v", e.Value, err)
	}
	sameJSON(t, "version 1", h.must(logical.ReadOperation, "data/legacy", map[string]any{"version": 1}).Data["data"], `{"k":"from-version-record"}`)
}
