// Package archtest enforces the dependency rules of ARCHITECTURE.md: which
// internal packages may import which. Test files are exempt (they may
// drive a whole server through internal/servertest).
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tresorhq/tresor/"

// imports maps each internal package (relative to the module) to the
// internal packages its non-test files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string][]string{}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module) {
				out[pkg] = append(out[pkg], strings.TrimPrefix(p, module))
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestDependencyRules(t *testing.T) {
	rules := []struct {
		name    string
		applies func(pkg string) bool
		allowed func(imp string) bool
	}{
		{
			"logical, storage, cors, parse, pgsql and jsonstr are leaves",
			func(p string) bool {
				return p == "internal/logical" || p == "internal/storage" || p == "internal/cors" || p == "internal/parse" ||
					p == "internal/pgsql" || p == "internal/jsonstr"
			},
			func(imp string) bool { return imp == "internal/storage" },
		},
		{
			"engines and auth methods see only the plugin contract",
			func(p string) bool {
				// Packages named *test (pgtest, mariadbtest) are test support
				// that starts real servers, not plugins.
				return (under(p, "internal/engine") || under(p, "internal/auth")) && !strings.HasSuffix(p, "test")
			},
			func(imp string) bool {
				return imp == "internal/logical" || imp == "internal/framework" || under(imp, "internal/storage") ||
					under(imp, "internal/auth/tokenfields") || under(imp, "internal/engine") || imp == "internal/randid" || imp == "internal/parse" ||
					imp == "internal/pgsql" || // a PostgreSQL client, no server package
					imp == "internal/jsonstr"
			},
		},
		{
			"the core and the system backend import no engine or auth method",
			func(p string) bool { return p == "internal/core" || p == "internal/sys" },
			func(imp string) bool { return !under(imp, "internal/engine") && !under(imp, "internal/auth") },
		},
		{
			"httpapi depends on interfaces, not on the core",
			func(p string) bool { return p == "internal/httpapi" },
			func(imp string) bool { return imp != "internal/core" && imp != "internal/server" },
		},
		{
			"the CLI and the load generator are API clients",
			func(p string) bool { return under(p, "internal/cli") || under(p, "internal/bench") },
			func(imp string) bool {
				return imp == "internal/version" || imp == "internal/bench" || imp == "internal/agent" ||
					imp == "internal/parse" || imp == "internal/randid"
			},
		},
		{
			"the web UI is an API client: no server package",
			func(p string) bool { return under(p, "internal/ui") },
			func(imp string) bool { return imp == "internal/version" },
		},
		{
			"the agent is an API client: no server package, not even the CLI",
			func(p string) bool { return under(p, "internal/agent") },
			func(imp string) bool {
				return imp == "internal/version" || under(imp, "internal/agent") || imp == "internal/parse"
			},
		},
	}
	all := imports(t)
	if _, ok := all["internal/core"]; !ok || len(all) < 20 {
		t.Fatalf("found %d packages, without internal/core: the walk is broken", len(all))
	}
	for pkg, imps := range all {
		for _, r := range rules {
			if !r.applies(pkg) {
				continue
			}
			for _, imp := range imps {
				if !r.allowed(imp) {
					t.Errorf("%s imports %s: %s", pkg, imp, r.name)
				}
			}
		}
	}
}
