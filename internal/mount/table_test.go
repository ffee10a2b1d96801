package mount

import (
	"context"
	"testing"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestMatch(t *testing.T) {
	var tb Table
	for _, p := range []string{"secret/", "secret-x/", "sys/", "auth/token/", "auth/userpass/", "a/b/c/", "kv/"} {
		if err := tb.Add(&Entry{Path: p, Type: "kv"}); err != nil {
			t.Fatalf("Add(%s): %v", p, err)
		}
	}
	tests := map[string]struct {
		path, mount, rel string
		ok               bool
	}{
		"inside a mount":             {"secret/data/app", "secret/", "data/app", true},
		"the mount itself":           {"secret/", "secret/", "", true},
		"mount without slash":        {"secret", "secret/", "", true},
		"sibling with a dash":        {"secret-x/foo", "secret-x/", "foo", true},
		"dash sibling without slash": {"secret-x", "secret-x/", "", true},
		"longer name is not a match": {"secretx/foo", "", "", false},
		"nested auth mount":          {"auth/userpass/login/bob", "auth/userpass/", "login/bob", true},
		"auth without method":        {"auth/other/x", "", "", false},
		"deep mount":                 {"a/b/c/d", "a/b/c/", "d", true},
		"parent of deep mount":       {"a/b/x", "", "", false},
		"empty":                      {"", "", "", false},
	}
	for name, tc := range tests {
		e, rel, ok := tb.Match(tc.path)
		if ok != tc.ok || (ok && (e.Path != tc.mount || rel != tc.rel)) {
			t.Errorf("%s: Match(%q) = %v %q %v; want %q %q %v", name, tc.path, e, rel, ok, tc.mount, tc.rel, tc.ok)
		}
	}
}

func TestAddRefusesOverlaps(t *testing.T) {
	var tb Table
	if err := tb.Add(&Entry{Path: "secret/", Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"secret/", "secret/a/", "bad", "/"} {
		if err := tb.Add(&Entry{Path: p, Type: "kv"}); err == nil {
			t.Errorf("Add(%q) succeeded", p)
		}
	}
	var tb2 Table
	_ = tb2.Add(&Entry{Path: "a/b/", Type: "kv"})
	if err := tb2.Add(&Entry{Path: "a/", Type: "kv"}); err == nil {
		t.Error("a parent of an existing mount was accepted")
	}
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	var tb Table
	_ = tb.Add(&Entry{Path: "sys/", Type: "system", Builtin: true})
	_ = tb.Add(&Entry{Path: "secret/", Type: "kv", Options: map[string]string{"version": "2"}})
	if err := tb.Save(ctx, s, "core/mounts"); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, s, "core/mounts")
	if err != nil || len(got) != 2 || got[0].Path != "secret/" || got[0].Options["version"] != "2" || got[0].UUID == "" || !got[1].Builtin {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if none, err := Load(ctx, s, "core/none"); err != nil || none != nil {
		t.Fatalf("Load(missing) = %v, %v", none, err)
	}
}

func TestByAccessor(t *testing.T) {
	var tb Table
	for _, e := range []*Entry{{Path: "secret/", Type: "kv"}, {Path: "auth/userpass/", Type: "userpass"}} {
		if err := tb.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	up, _ := tb.Get("auth/userpass/")
	if got, ok := tb.ByAccessor(up.Accessor); !ok || got.Path != "auth/userpass/" {
		t.Errorf("ByAccessor(%q) = %v, %v", up.Accessor, got, ok)
	}
	if _, ok := tb.ByAccessor("auth_nope_123"); ok {
		t.Error("an unknown accessor was found")
	}
}
