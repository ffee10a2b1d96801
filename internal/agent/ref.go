package agent

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Schemes are the reference prefixes Tresor resolves: its own, the one
// several Vault tools use, and the Docker Secret Operator's.
var Schemes = []string{"tresor", "vault", "dso"}

// Ref is a reference to one value of a secret, written
//
//	tresor://secret/app#password
//	vault://secret/data/app#password?version=3
//	dso://database/creds/app#username
//
// The path is the secret's path as the kv commands take it (the mount's KV
// version decides whether data/ is inserted) or any API path (dynamic
// secrets); the key names one field of the secret's data.
type Ref struct {
	Scheme  string
	Path    string
	Key     string
	Version int // 0: the latest version
}

// String writes r back in its canonical form.
func (r Ref) String() string {
	s := r.Scheme + "://" + r.Path + "#" + r.Key
	if r.Version > 0 {
		s += "?version=" + strconv.Itoa(r.Version)
	}
	return s
}

// IsRef reports whether s starts like a reference (a known scheme), so a
// caller can tell "not a reference" from "a broken reference".
func IsRef(s string) bool {
	s = strings.TrimSpace(s)
	for _, sc := range Schemes {
		if strings.HasPrefix(s, sc+"://") {
			return true
		}
	}
	return false
}

// maxRefLen bounds a reference; longer input is refused, not parsed.
const maxRefLen = 4096

// ParseRef parses a whole reference. The query ?version=N may come before
// or after the #KEY fragment. Its errors quote the input, which holds no
// secret.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxRefLen {
		return Ref{}, errors.New("reference too long")
	}
	var r Ref
	for _, sc := range Schemes {
		if rest, ok := strings.CutPrefix(s, sc+"://"); ok {
			r.Scheme, s = sc, rest
			break
		}
	}
	if r.Scheme == "" {
		return Ref{}, fmt.Errorf("%q: not a reference (want tresor://, vault:// or dso://PATH#KEY)", s)
	}
	orig := r.Scheme + "://" + s
	p, key, ok := strings.Cut(s, "#")
	if !ok {
		return Ref{}, fmt.Errorf("%q: missing #KEY", orig)
	}
	var query string
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p, query = p[:i], p[i+1:]
	}
	if i := strings.IndexByte(key, '?'); i >= 0 {
		if query != "" {
			return Ref{}, fmt.Errorf("%q: two queries", orig)
		}
		key, query = key[:i], key[i+1:]
	}
	p = strings.Trim(p, "/")
	if p == "" {
		return Ref{}, fmt.Errorf("%q: empty path", orig)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return Ref{}, fmt.Errorf("%q: bad path segment %q", orig, seg)
		}
	}
	if strings.ContainsAny(p, " \t\r\n#") || strings.ContainsAny(key, "\r\n#/") {
		return Ref{}, fmt.Errorf("%q: bad character in path or key", orig)
	}
	if key == "" {
		return Ref{}, fmt.Errorf("%q: empty key", orig)
	}
	if query != "" {
		name, val, _ := strings.Cut(query, "=")
		if name != "version" {
			return Ref{}, fmt.Errorf("%q: unknown parameter %q (only version)", orig, name)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return Ref{}, fmt.Errorf("%q: version must be a positive integer", orig)
		}
		r.Version = n
	}
	r.Path, r.Key = p, key
	return r, nil
}

// refInText finds references embedded in any text (a compose file, an
// .env file): a scheme, a path of the usual path characters, #KEY, and an
// optional ?version=N on either side of the key.
var refInText = regexp.MustCompile(`\b(?:tresor|vault|dso)://[A-Za-z0-9_.\-/]+(?:\?version=[0-9]+)?#[A-Za-z0-9_.\-]+(?:\?version=[0-9]+)?`)

// FindRefs returns the references in text, in order, each once.
func FindRefs(text string) ([]Ref, error) {
	var out []Ref
	seen := map[string]bool{}
	for _, m := range refInText.FindAllString(text, -1) {
		if seen[m] {
			continue
		}
		seen[m] = true
		r, err := ParseRef(m)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ReplaceRefs replaces every reference in text by value(ref).
func ReplaceRefs(text string, value func(Ref) (string, error)) (string, error) {
	var firstErr error
	out := refInText.ReplaceAllStringFunc(text, func(m string) string {
		if firstErr != nil {
			return m
		}
		r, err := ParseRef(m)
		if err == nil {
			var v string
			if v, err = value(r); err == nil {
				return v
			}
		}
		firstErr = err
		return m
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}
