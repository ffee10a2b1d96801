package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The CLI is an ordinary API client: it must not import server packages.
// It may name the build (internal/version) and run the load generator
// (internal/bench, itself a pure API client); tests may use
// internal/servertest for end-to-end runs.
func TestImportsNoInternalPackages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const internal = "github.com/tresorhq/tresor/internal/"
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, internal) || path == internal+"version" || path == internal+"bench" {
				continue
			}
			if strings.HasSuffix(name, "_test.go") && path == internal+"servertest" {
				continue
			}
			t.Errorf("%s imports %s", name, path)
		}
	}
}
