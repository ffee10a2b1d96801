package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
)

// EnvRefs is an environment (KEY=VALUE entries) whose values may be
// references, bound to their dependencies.
type EnvRefs struct {
	env      []string
	bindings map[int]Binding // index in env → binding
}

// EnvRefError names the variable whose reference failed.
type EnvRefError struct {
	Var string
	Err error
}

func (e *EnvRefError) Error() string { return e.Var + ": " + e.Err.Error() }
func (e *EnvRefError) Unwrap() error { return e.Err }

var errNotFetched = errors.New("not fetched")

// BindEnv finds the entries of env whose whole value is a reference and
// binds them. Later entries override earlier ones with the same name.
func BindEnv(ctx context.Context, r *Resolver, env []string) (*EnvRefs, error) {
	env = dedupEnv(env)
	e := &EnvRefs{env: env, bindings: map[int]Binding{}}
	var (
		refs []Ref
		idx  []int
		errs []error
	)
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !IsRef(v) {
			continue
		}
		ref, err := ParseRef(v)
		if err != nil {
			errs = append(errs, &EnvRefError{Var: k, Err: err})
			continue
		}
		refs, idx = append(refs, ref), append(idx, i)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bs, err := r.Bind(ctx, refs)
	if err != nil {
		return nil, err
	}
	for j, b := range bs {
		e.bindings[idx[j]] = b
	}
	return e, nil
}

// dedupEnv keeps the last entry of each name, in first-seen order.
func dedupEnv(env []string) []string {
	pos := map[string]int{}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := pos[k]; ok {
			out[i] = kv
			continue
		}
		pos[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// Len is the number of references.
func (e *EnvRefs) Len() int { return len(e.bindings) }

// Deps lists the distinct dependencies.
func (e *EnvRefs) Deps() []Dependency {
	bs := make([]Binding, 0, len(e.bindings))
	for _, b := range e.bindings {
		bs = append(bs, b)
	}
	return Deps(bs)
}

// Render returns the environment with every reference replaced by its
// value from get, and the values themselves (for masking).
func (e *EnvRefs) Render(get func(Dependency) (*api.Secret, bool)) (env, values []string, err error) {
	env = make([]string, len(e.env))
	copy(env, e.env)
	var errs []error
	for i, b := range e.bindings {
		k, _, _ := strings.Cut(env[i], "=")
		s, ok := get(b.Dep)
		if !ok {
			errs = append(errs, &EnvRefError{Var: k, Err: &RefError{Ref: b.Ref, Err: errNotFetched}})
			continue
		}
		v, err := b.Value(s)
		if err != nil {
			errs = append(errs, &EnvRefError{Var: k, Err: &RefError{Ref: b.Ref, Err: err}})
			continue
		}
		env[i] = k + "=" + v
		values = append(values, v)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return env, values, nil
}

// Rotated names the references (as "VAR (ref)") bound to deps.
func (e *EnvRefs) Rotated(deps []Dependency) []string {
	set := map[Dependency]bool{}
	for _, d := range deps {
		set[d] = true
	}
	var out []string
	for i, b := range e.bindings {
		if set[b.Dep] {
			k, _, _ := strings.Cut(e.env[i], "=")
			out = append(out, fmt.Sprintf("%s (%s)", k, b.Ref))
		}
	}
	return out
}

// ParseEnvFile reads KEY=VALUE lines as docker compose's --env-file does:
// blank lines and # comments are skipped, "export " is allowed, and a value
// may be wrapped in single or double quotes.
func ParseEnvFile(text string) ([]string, error) {
	var out []string
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: not KEY=VALUE", n+1)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}
