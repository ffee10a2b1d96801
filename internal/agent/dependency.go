package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"
)

// This file is *what* to fetch: a Dependency is one read (or write, for
// endpoints such as pki/issue/ROLE that create a secret) from the server.
// Every template, env var or reference naming the same path shares one
// Dependency, so each path is read once.

// Dependency names one request. It is comparable and used as a map key.
type Dependency struct {
	// Path is the API path, without /v1/: "secret/data/app".
	Path string
	// Version, when > 0, asks a KV v2 data path for that version.
	Version int
	// Params, when set, makes the request a write with these parameters,
	// encoded as a sorted URL query ("common_name=a.example").
	Params string
}

func (d Dependency) String() string {
	s := d.Path
	if d.Version > 0 {
		s += "?version=" + strconv.Itoa(d.Version)
	}
	if d.Params != "" {
		s += " (write)"
	}
	return s
}

// ErrNotFound is returned by fetch when the server has no secret at a path.
var ErrNotFound = errors.New("no secret at this path")

// writeParams turns consul-template's "key=value" arguments into the
// canonical Params string.
func writeParams(args []string) (string, error) {
	v := url.Values{}
	for _, a := range args {
		k, val, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("write parameter %q is not key=value", a)
		}
		v.Add(k, val)
	}
	return v.Encode(), nil // Encode sorts by key
}

// fetch performs d's request.
func fetch(ctx context.Context, client *api.Client, d Dependency) (*api.Secret, error) {
	var (
		s   *api.Secret
		err error
	)
	switch {
	case d.Params != "":
		q, perr := url.ParseQuery(d.Params)
		if perr != nil {
			return nil, perr
		}
		body := make(map[string]any, len(q))
		for k, vs := range q {
			body[k] = vs[len(vs)-1]
		}
		s, err = client.Logical().WriteWithContext(ctx, d.Path, body)
	case d.Version > 0:
		s, err = client.Logical().ReadWithDataWithContext(ctx, d.Path,
			map[string][]string{"version": {strconv.Itoa(d.Version)}})
	default:
		s, err = client.Logical().ReadWithContext(ctx, d.Path)
	}
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrNotFound
	}
	return s, nil
}

// Binding is a reference resolved against its mount: the dependency to
// fetch and where in the answer its value is.
type Binding struct {
	Ref Ref
	Dep Dependency
	kv2 bool // the value is under data.data
}

// ErrKeyMissing is wrapped by Binding.Value when the secret lacks the key.
var ErrKeyMissing = errors.New("key not in secret")

// Value extracts the bound key from the dependency's secret. Strings are
// returned as they are; other JSON values are encoded as JSON.
func (b Binding) Value(s *api.Secret) (string, error) {
	if s == nil {
		return "", ErrNotFound
	}
	data := s.Data
	if b.kv2 {
		inner, ok := data["data"].(map[string]any)
		if !ok {
			// A deleted or destroyed version answers with data: null.
			return "", ErrNotFound
		}
		data = inner
	}
	v, ok := data[b.Ref.Key]
	if !ok {
		return "", ErrKeyMissing
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case nil:
		return "", nil
	default:
		j, err := json.Marshal(v)
		return string(j), err
	}
}

// RefError names the reference a failure belongs to. Its text never
// carries a secret value.
type RefError struct {
	Ref Ref
	Err error
}

func (e *RefError) Error() string { return e.Ref.String() + ": " + e.Err.Error() }
func (e *RefError) Unwrap() error { return e.Err }

// Resolver binds references to dependencies. It learns each mount (and
// its KV version) once from sys/internal/ui/mounts, as the vault CLI's kv
// commands do, and reuses it for every path below that mount.
type Resolver struct {
	client   *api.Client
	mu       sync.Mutex
	mounts   map[string]bool          // mount path ("secret/") → KV v2
	inflight map[string]chan struct{} // first path segment → lookup under way
}

// NewResolver returns a resolver asking through client.
func NewResolver(client *api.Client) *Resolver {
	return &Resolver{client: client, mounts: map[string]bool{}, inflight: map[string]chan struct{}{}}
}

// Bind resolves refs concurrently (one mount lookup per unknown mount).
func (r *Resolver) Bind(ctx context.Context, refs []Ref) ([]Binding, error) {
	out := make([]Binding, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := r.bind(ctx, ref)
			if err != nil {
				errs[i] = &RefError{Ref: ref, Err: err}
			}
			out[i] = b
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Resolver) bind(ctx context.Context, ref Ref) (Binding, error) {
	// References under one first segment usually share a mount: let one
	// of them ask, and the others use the answer.
	first, _, _ := strings.Cut(ref.Path, "/")
	r.mu.Lock()
	wait, busy := r.inflight[first]
	if !busy {
		r.inflight[first] = make(chan struct{})
	}
	r.mu.Unlock()
	if busy {
		select {
		case <-wait:
		case <-ctx.Done():
			return Binding{}, ctx.Err()
		}
	} else {
		defer func() {
			r.mu.Lock()
			close(r.inflight[first])
			delete(r.inflight, first)
			r.mu.Unlock()
		}()
	}
	mount, v2, known := r.known(ref.Path)
	if !known {
		var err error
		if mount, v2, err = r.lookup(ctx, ref.Path); err != nil {
			return Binding{}, err
		}
	}
	b := Binding{Ref: ref, Dep: Dependency{Path: ref.Path}}
	if !v2 {
		if ref.Version > 0 {
			return Binding{}, errors.New("?version needs a KV version 2 mount")
		}
		return b, nil
	}
	b.kv2 = true
	rel := strings.TrimPrefix(ref.Path, strings.TrimSuffix(mount, "/"))
	rel = strings.TrimPrefix(rel, "/")
	// dso:// references usually spell out the API path (secret/data/app);
	// kv-style ones (secret/app) get data/ inserted, as "kv get" does.
	if !strings.HasPrefix(rel, "data/") {
		rel = path.Join("data", rel)
	}
	b.Dep.Path = path.Join(mount, rel)
	b.Dep.Version = ref.Version
	return b, nil
}

func (r *Resolver) known(p string) (mount string, v2, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for m, isV2 := range r.mounts {
		if strings.HasPrefix(p+"/", m) && len(m) > len(mount) {
			mount, v2, ok = m, isV2, true
		}
	}
	return mount, v2, ok
}

// lookup asks the server which mount serves p. A server without the
// endpoint (404), or a token not allowed to ask, makes p a plain API path.
func (r *Resolver) lookup(ctx context.Context, p string) (string, bool, error) {
	req := r.client.NewRequest("GET", "/v1/sys/internal/ui/mounts/"+p)
	resp, err := r.client.RawRequestWithContext(ctx, req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if resp != nil && (resp.StatusCode == 404 || resp.StatusCode == 403) {
			return "", false, nil
		}
		return "", false, err
	}
	s, err := api.ParseSecret(resp.Body)
	if err != nil || s == nil {
		return "", false, fmt.Errorf("reading mount information: %v", err)
	}
	mount, _ := s.Data["path"].(string)
	if mount == "" {
		return "", false, nil
	}
	if !strings.HasSuffix(mount, "/") {
		mount += "/"
	}
	v2 := false
	if opts, ok := s.Data["options"].(map[string]any); ok && fmt.Sprint(opts["version"]) == "2" {
		v2 = true
	}
	r.mu.Lock()
	r.mounts[mount] = v2
	r.mu.Unlock()
	return mount, v2, nil
}

// Deps lists the distinct dependencies of bindings, in a stable order.
func Deps(bs []Binding) []Dependency {
	seen := map[Dependency]bool{}
	var out []Dependency
	for _, b := range bs {
		if !seen[b.Dep] {
			seen[b.Dep] = true
			out = append(out, b.Dep)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
