package kv

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// moveWorld is one storage holding four mounts, laid out as the core lays
// them out: v2 mounts "a" and "b", v1 mounts "c" and "d".
type moveWorld struct {
	t      *testing.T
	under  storage.Store
	mounts map[string]*harness
}

var moveMountVersions = map[string]int{"a": 2, "b": 2, "c": 1, "d": 1}

func mountPrefix(name string) string { return "logical/" + name + "/" }

func newMoveWorld(t *testing.T) *moveWorld {
	t.Helper()
	w := &moveWorld{t: t, under: inmem.New(), mounts: make(map[string]*harness)}
	var clk *clock
	for name, v := range moveMountVersions {
		h := newHarnessOn(t, fmt.Sprint(v), storage.NewView(w.under, mountPrefix(name)))
		if clk == nil {
			clk = h.clock
		}
		h.clock, h.b.now = clk, clk.now // one clock, so deletion times compare alike
		w.mounts[name] = h
	}

	// A v2 secret with a history worth keeping: a destroyed version, a
	// soft-deleted one, a scheduled deletion, key settings and custom
	// metadata. A deeper secret below it must never be touched by its move.
	a := w.mounts["a"]
	for i := 1; i <= 3; i++ {
		a.must(logical.UpdateOperation, "data/app/db", secret("password", fmt.Sprintf("p%d", i), "n", i))
		clk.advance(time.Minute)
	}
	a.must(logical.UpdateOperation, "metadata/app/db", map[string]any{
		"max_versions":         7,
		"cas_required":         false,
		"delete_version_after": "240h",
		"custom_metadata":      map[string]any{"owner": "ops", "tier": "1"},
	})
	a.must(logical.UpdateOperation, "data/app/db", secret("password", "p4", "nested", map[string]any{"x": 1.5}))
	a.must(logical.UpdateOperation, "delete/app/db", map[string]any{"versions": []any{2}})
	a.must(logical.UpdateOperation, "destroy/app/db", map[string]any{"versions": []any{1}})
	a.must(logical.UpdateOperation, "data/app/db/keep", secret("k", "deeper"))
	clk.advance(time.Minute)

	c := w.mounts["c"]
	c.must(logical.UpdateOperation, "app/db", map[string]any{"password": "v1pw", "port": 5432})
	c.must(logical.UpdateOperation, "app/db/keep", map[string]any{"k": "deeper"})
	return w
}

// move runs MoveSecret in one transaction over the shared storage, with a
// TxView per mount, as the core's sys/kv/move does.
func (w *moveWorld) move(src, srcPath, dst, dstPath string, copy bool) error {
	return w.under.Update(w.t.Context(), func(tx storage.Tx) error {
		return MoveSecret(w.t.Context(),
			storage.TxView(tx, mountPrefix(src)), moveMountVersions[src], srcPath,
			storage.TxView(tx, mountPrefix(dst)), moveMountVersions[dst], dstPath, copy)
	})
}

// raw dumps every stored key and value.
func (w *moveWorld) raw() map[string]string {
	w.t.Helper()
	out := make(map[string]string)
	err := storage.Walk(w.t.Context(), w.under, "", func(key string) error {
		e, err := w.under.Get(w.t.Context(), key)
		if err != nil {
			return err
		}
		out[key] = string(e.Value)
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// view is what a client sees of one secret through the engine: for v2 the
// metadata and every version's read, for v1 the read. ok is false when
// the secret does not exist.
func (w *moveWorld) view(mount, path string) (v map[string]any, ok bool) {
	w.t.Helper()
	h := w.mounts[mount]
	if moveMountVersions[mount] == 1 {
		resp, err := h.do(logical.ReadOperation, path, nil)
		if e, isErr := logical.AsError(err); isErr && e.Kind == logical.KindNotFound {
			return nil, false
		} else if err != nil {
			w.t.Fatalf("read %s %s: %v", mount, path, err)
		}
		return map[string]any{"data": normal(w.t, resp.Data)}, true
	}
	md, err := h.do(logical.ReadOperation, "metadata/"+path, nil)
	if e, isErr := logical.AsError(err); isErr && e.Kind == logical.KindNotFound {
		return nil, false
	} else if err != nil {
		w.t.Fatalf("read metadata %s %s: %v", mount, path, err)
	}
	v = map[string]any{"metadata": normal(w.t, md.Data)}
	current := md.Data["current_version"].(int)
	for n := 0; n <= current; n++ { // 0 is the latest
		resp, err := h.do(logical.ReadOperation, "data/"+path, map[string]any{"version": n})
		if err != nil {
			v[fmt.Sprint(n)] = fmt.Sprintf("error: %v", err)
			continue
		}
		v[fmt.Sprint(n)] = map[string]any{"status": resp.StatusCode, "data": normal(w.t, resp.Data)}
	}
	return v, true
}

// sourceKeys lists the stored keys of path in mount, by the layout of the
// package doc.
func sourceKeys(raw map[string]string, mount, path string, version int) []string {
	var keys []string
	for k := range raw {
		rel, ok := strings.CutPrefix(k, mountPrefix(mount))
		if !ok {
			continue
		}
		if version == 1 && rel == path {
			keys = append(keys, k)
		}
		if version == 2 {
			if rest, ok := strings.CutPrefix(rel, verPrefix+path+"/"); rel == metaKey(path) || ok && !strings.Contains(rest, "/") {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func TestMoveSecret(t *testing.T) {
	type errWant struct {
		kind logical.Kind
		msg  string
	}
	tests := map[string]struct {
		src, srcPath, dst, dstPath string
		copy                       bool
		prepare                    func(w *moveWorld)
		wantErr                    *errWant
	}{
		"v2 across mounts":               {src: "a", srcPath: "app/db", dst: "b", dstPath: "db"},
		"v2 within a mount":              {src: "a", srcPath: "app/db", dst: "a", dstPath: "moved/db"},
		"v2 within a mount into a child": {src: "a", srcPath: "app/db", dst: "a", dstPath: "app/db/old"},
		"v2 within a mount from a child": {src: "a", srcPath: "app/db/keep", dst: "a", dstPath: "keep"},
		"v2 copy keeps the source":       {src: "a", srcPath: "app/db", dst: "b", dstPath: "app/db", copy: true},
		"v2 copy within a mount":         {src: "a", srcPath: "app/db", dst: "a", dstPath: "copy", copy: true},
		"v1 across mounts":               {src: "c", srcPath: "app/db", dst: "d", dstPath: "x/db"},
		"v1 within a mount":              {src: "c", srcPath: "app/db", dst: "c", dstPath: "db"},
		"v1 copy keeps the source":       {src: "c", srcPath: "app/db", dst: "d", dstPath: "app/db", copy: true},
		"v2 moving a secret that has only metadata": {
			src: "a", srcPath: "empty", dst: "b", dstPath: "empty",
			prepare: func(w *moveWorld) {
				w.mounts["a"].must(logical.UpdateOperation, "metadata/empty", map[string]any{"custom_metadata": map[string]any{"k": "v"}})
			},
		},
		"v2 destination exists": {
			src: "a", srcPath: "app/db", dst: "b", dstPath: "db",
			prepare: func(w *moveWorld) { w.mounts["b"].must(logical.UpdateOperation, "data/db", secret("x", 1)) },
			wantErr: &errWant{logical.KindInvalidRequest, "destination already exists"},
		},
		"v2 destination with only a version record": {
			src: "a", srcPath: "app/db", dst: "b", dstPath: "db",
			prepare: func(w *moveWorld) {
				if err := w.under.Put(t.Context(), &storage.Entry{Key: mountPrefix("b") + versionKey("db", 9), Value: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: &errWant{logical.KindInvalidRequest, "destination already exists"},
		},
		"v2 onto itself":    {src: "a", srcPath: "app/db", dst: "a", dstPath: "app/db", wantErr: &errWant{logical.KindInvalidRequest, "destination already exists"}},
		"v2 missing source": {src: "a", srcPath: "nope", dst: "b", dstPath: "db", wantErr: &errWant{logical.KindNotFound, "source secret not found"}},
		"v2 folder is not a secret": {
			src: "a", srcPath: "app", dst: "b", dstPath: "app",
			wantErr: &errWant{logical.KindNotFound, "source secret not found"},
		},
		"v1 destination exists": {
			src: "c", srcPath: "app/db", dst: "d", dstPath: "db",
			prepare: func(w *moveWorld) { w.mounts["d"].must(logical.UpdateOperation, "db", map[string]any{"x": 1}) },
			wantErr: &errWant{logical.KindInvalidRequest, "destination already exists"},
		},
		"v1 missing source":   {src: "c", srcPath: "nope", dst: "d", dstPath: "db", wantErr: &errWant{logical.KindNotFound, "source secret not found"}},
		"v1 to v2":            {src: "c", srcPath: "app/db", dst: "a", dstPath: "db", wantErr: &errWant{logical.KindInvalidRequest, "cannot move between KV version 1 and version 2 mounts"}},
		"v2 to v1":            {src: "a", srcPath: "app/db", dst: "c", dstPath: "db", wantErr: &errWant{logical.KindInvalidRequest, "cannot move between KV version 1 and version 2 mounts"}},
		"empty source":        {src: "a", srcPath: "", dst: "b", dstPath: "db", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"dot-dot in source":   {src: "a", srcPath: "app/../app/db", dst: "b", dstPath: "db", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"trailing slash":      {src: "a", srcPath: "app/db/", dst: "b", dstPath: "db", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"empty destination":   {src: "c", srcPath: "app/db", dst: "d", dstPath: "", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"dot-dot in dest":     {src: "c", srcPath: "app/db", dst: "d", dstPath: "../c/x", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"dest trailing slash": {src: "a", srcPath: "app/db", dst: "b", dstPath: "db/", wantErr: &errWant{logical.KindInvalidRequest, ""}},
		"dest leading slash":  {src: "a", srcPath: "app/db", dst: "b", dstPath: "/db", wantErr: &errWant{logical.KindInvalidRequest, ""}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			w := newMoveWorld(t)
			if tt.prepare != nil {
				tt.prepare(w)
			}
			before := w.raw()
			srcView, _ := w.view(tt.src, tt.srcPath)
			keepView, _ := w.view(tt.src, "app/db/keep")

			err := w.move(tt.src, tt.srcPath, tt.dst, tt.dstPath, tt.copy)

			if tt.wantErr != nil {
				wantErr(t, "MoveSecret", err, tt.wantErr.kind, tt.wantErr.msg)
				if after := w.raw(); !maps.Equal(after, before) {
					t.Errorf("a failed move changed storage")
				}
				return
			}
			if err != nil {
				t.Fatalf("MoveSecret: %v", err)
			}
			dstView, ok := w.view(tt.dst, tt.dstPath)
			if !ok || !reflect.DeepEqual(dstView, srcView) {
				t.Errorf("destination as read through the engine:\n got %v\nwant %v", dstView, srcView)
			}
			gotSrc, srcExists := w.view(tt.src, tt.srcPath)
			switch {
			case tt.copy && !reflect.DeepEqual(gotSrc, srcView):
				t.Errorf("copy changed the source:\n got %v\nwant %v", gotSrc, srcView)
			case !tt.copy && srcExists:
				t.Errorf("source still readable after the move: %v", gotSrc)
			case !tt.copy:
				if left := sourceKeys(w.raw(), tt.src, tt.srcPath, moveMountVersions[tt.src]); len(left) > 0 {
					t.Errorf("source keys left after the move: %q", left)
				}
			}
			if tt.srcPath != "app/db/keep" {
				if got, _ := w.view(tt.src, "app/db/keep"); !reflect.DeepEqual(got, keepView) {
					t.Errorf("deeper secret changed: got %v, want %v", got, keepView)
				}
			}
		})
	}
}

// TestMoveSecretKeepsHistory pins the v2 history field by field, on top of
// the whole-view comparison above, and checks the moved secret stays
// writable at its new place.
func TestMoveSecretKeepsHistory(t *testing.T) {
	w := newMoveWorld(t)
	if err := w.move("a", "app/db", "b", "db", false); err != nil {
		t.Fatal(err)
	}
	b := w.mounts["b"]
	md := b.must(logical.ReadOperation, "metadata/db", nil).Data
	versions := md["versions"].(map[string]any)
	sameJSON(t, "metadata", map[string]any{
		"current_version":      md["current_version"],
		"oldest_version":       md["oldest_version"],
		"max_versions":         md["max_versions"],
		"delete_version_after": md["delete_version_after"],
		"custom_metadata":      md["custom_metadata"],
		"created_time":         md["created_time"],
		"v1":                   versions["1"],
		"v2":                   versions["2"],
		"v4":                   versions["4"],
	}, fmt.Sprintf(`{
		"current_version": 4, "oldest_version": 0, "max_versions": 7, "delete_version_after": "240h0m0s",
		"custom_metadata": {"owner": "ops", "tier": "1"},
		"created_time": %q,
		"v1": {"created_time": %q, "deletion_time": "", "destroyed": true},
		"v2": {"created_time": %q, "deletion_time": %q, "destroyed": false},
		"v4": {"created_time": %q, "deletion_time": %q, "destroyed": false}
	}`, formatTime(t0), formatTime(t0), formatTime(t0.Add(time.Minute)), formatTime(t0.Add(3*time.Minute)),
		formatTime(t0.Add(3*time.Minute)), formatTime(t0.Add(3*time.Minute+240*time.Hour))))

	latest := b.must(logical.ReadOperation, "data/db", nil).Data
	sameJSON(t, "latest data", latest["data"], `{"password": "p4", "nested": {"x": 1.5}}`)

	b.must(logical.UpdateOperation, "data/db", map[string]any{"data": map[string]any{"password": "p5"}, "options": map[string]any{"cas": 4}})
	if got := b.must(logical.ReadOperation, "metadata/db", nil).Data["current_version"]; got != 5 {
		t.Errorf("current_version after a write at the destination = %v, want 5", got)
	}
}

func TestMoveSecretRejectsBadVersions(t *testing.T) {
	for _, v := range [][2]int{{0, 2}, {2, 3}, {1, -1}} {
		err := inmem.New().Update(context.Background(), func(tx storage.Tx) error {
			return MoveSecret(context.Background(), tx, v[0], "a", tx, v[1], "b", false)
		})
		wantErr(t, fmt.Sprint(v), err, logical.KindInvalidRequest, "")
	}
}
