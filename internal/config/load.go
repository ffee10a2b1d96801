package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
)

// LoadFiles reads and merges the configuration files at paths, in order, as
// given by repeated -config flags. A directory stands for every *.hcl and
// *.json file directly in it, sorted by name (hidden files are skipped).
// Later files override earlier top-level settings, listeners accumulate, and
// storage may be declared only once overall. With no paths the result is an
// empty configuration with defaults applied.
func LoadFiles(paths ...string) (*Config, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	c := newConfig()
	d := &decoder{cfg: c}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := d.file(path, src); err != nil {
			return nil, err
		}
	}
	c.applyDefaults()
	return c, nil
}

// Parse reads one configuration from src. name labels error messages and
// warnings, and selects JSON when it ends in ".json"; otherwise content whose
// first non-blank character is '{' is JSON and anything else HCL.
func Parse(name string, src []byte) (*Config, error) {
	c := newConfig()
	if err := (&decoder{cfg: c}).file(name, src); err != nil {
		return nil, err
	}
	c.applyDefaults()
	return c, nil
}

// expand replaces each directory in paths by its configuration files.
func expand(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			// Hidden names cover editor lock and swap files.
			if e.IsDir() || strings.HasPrefix(n, ".") {
				continue
			}
			if strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".json") {
				names = append(names, filepath.Join(p, n))
			}
		}
		sort.Strings(names)
		files = append(files, names...)
	}
	return files, nil
}

// parseSource turns src into a syntax tree, choosing HCL or JSON.
func parseSource(name string, src []byte) (*ast.ObjectList, error) {
	trimmed := bytes.TrimSpace(src)
	if len(trimmed) == 0 {
		return &ast.ObjectList{}, nil
	}
	if strings.HasSuffix(name, ".json") || trimmed[0] == '{' {
		return parseJSON(name, src)
	}
	return parseHCL(name, src)
}

// parseHCL parses HCL, turning the parser's errors into positioned ones
// that cannot echo source text.
func parseHCL(name string, src []byte) (list *ast.ObjectList, err error) {
	// The hcl v1 parser panics on some malformed input; that is a syntax
	// error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			list, err = nil, fmt.Errorf("%s: %w: malformed input", name, ErrSyntax)
		}
	}()
	// Duplicate attributes are a deprecation warning in Vault, not an error;
	// the decoder reports them.
	f, err := hclparser.ParseDontErrorOnDuplicateKeys(src)
	if err != nil {
		var pe *hclparser.PosError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d:%d: %w: %s", name, pe.Pos.Line, pe.Pos.Column, ErrSyntax, safeMessage(pe.Err))
		}
		return nil, fmt.Errorf("%s: %w", name, ErrSyntax)
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, fmt.Errorf("%s: %w: no top-level object", name, ErrSyntax)
	}
	return list, nil
}

// safeMessage keeps the hcl parser's description of a syntax error unless it
// quotes source text (a token dump or a key name), which could be a secret.
// Nested list errors embed the inner message, hence Contains.
func safeMessage(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Unknown token"), strings.Contains(msg, "Text:"):
		return "unexpected token"
	case strings.Contains(msg, "key '"):
		return "key must be followed by '=' or '{'"
	}
	return msg
}
