package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/vault/api"
)

// This file is *how* to render: a Template is consul-template's language
// (Go text/template with its functions) evaluated against the watcher's
// cache only. Rendering never talks to the server: a secret not yet in
// the cache is recorded as a dependency and the render is incomplete.

// Template is one parsed template.
type Template struct {
	Name string
	tmpl *template.Template
}

// ParseTemplate parses text with consul-template's functions; empty
// delimiters mean {{ and }}. errorOnMissingKey makes a missing map key an
// error instead of "<no value>".
func ParseTemplate(name, text, left, right string, errorOnMissingKey bool) (*Template, error) {
	t := template.New(name).Delims(left, right).Funcs(funcMap(&renderState{}))
	if errorOnMissingKey {
		t = t.Option("missingkey=error")
	}
	t, err := t.Parse(text)
	if err != nil {
		return nil, err
	}
	return &Template{Name: name, tmpl: t}, nil
}

// Rendering is the result of one Render.
type Rendering struct {
	Output []byte
	// Deps are the secrets the template asked for.
	Deps []Dependency
	// Complete is false while some dependency is not in the cache yet;
	// Output must not be used then.
	Complete bool
}

// renderState collects what one execution asked for.
type renderState struct {
	get     func(Dependency) (*api.Secret, bool)
	deps    []Dependency
	seen    map[Dependency]bool
	missing bool
}

// Render executes t against get (the watcher's cache).
func (t *Template) Render(get func(Dependency) (*api.Secret, bool)) (Rendering, error) {
	st := &renderState{get: get, seen: map[Dependency]bool{}}
	clone, err := t.tmpl.Clone()
	if err != nil {
		return Rendering{}, err
	}
	clone.Funcs(funcMap(st))
	var out bytes.Buffer
	err = clone.Execute(&out, nil)
	r := Rendering{Deps: st.deps, Complete: !st.missing}
	if st.missing {
		// Errors from data that has not arrived are expected.
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Output = out.Bytes()
	return r, nil
}

// secret is consul-template's secret function: a read, or a write when
// parameters follow the path.
func (st *renderState) secret(p string, params ...string) (*api.Secret, error) {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return nil, errors.New("secret: empty path")
	}
	q, err := writeParams(params)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", p, err)
	}
	d := Dependency{Path: p, Params: q}
	if !st.seen[d] {
		st.seen[d] = true
		st.deps = append(st.deps, d)
	}
	if st.get != nil {
		if s, ok := st.get(d); ok {
			return s, nil
		}
	}
	st.missing = true
	// An empty secret lets {{ with }} skip and field access fail softly.
	return &api.Secret{Data: map[string]any{}}, nil
}

func funcMap(st *renderState) template.FuncMap {
	return template.FuncMap{
		"secret": st.secret,
		"env":    os.Getenv,

		"toJSON": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"toJSONPretty": func(v any) (string, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			return string(b), err
		},
		"parseJSON": func(s string) (any, error) {
			var v any
			err := json.Unmarshal([]byte(s), &v)
			return v, err
		},
		"base64Encode": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode": func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		},
		"base64URLEncode": func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
		"base64URLDecode": func(s string) (string, error) {
			b, err := base64.URLEncoding.DecodeString(s)
			return string(b), err
		},
		"sha256Hex": func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },

		"toLower":    strings.ToLower,
		"toUpper":    strings.ToUpper,
		"toTitle":    strings.ToTitle,
		"trimSpace":  strings.TrimSpace,
		"trim":       func(cut, s string) string { return strings.Trim(s, cut) },
		"trimPrefix": func(pre, s string) string { return strings.TrimPrefix(s, pre) },
		"trimSuffix": func(suf, s string) string { return strings.TrimSuffix(s, suf) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(pre, s string) bool { return strings.HasPrefix(s, pre) },
		"hasSuffix":  func(suf, s string) bool { return strings.HasSuffix(s, suf) },
		"split":      func(sep, s string) []string { return strings.Split(s, sep) },
		"join":       func(sep string, a []string) string { return strings.Join(a, sep) },
		"replaceAll": func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"regexMatch": func(re, s string) (bool, error) { return regexp.MatchString(re, s) },
		"regexReplaceAll": func(re, to, s string) (string, error) {
			r, err := regexp.Compile(re)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllString(s, to), nil
		},
		"parseInt":  func(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) },
		"parseBool": func(s string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(s)) },
		"toString":  func(v any) string { return fmt.Sprint(v) },
	}
}
