package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tresorhq/tresor/internal/storage"
)

// keyPrefix is where policies live in the store: "policy/<name>".
const keyPrefix = "policy/"

// maxCachedACLs bounds the compiled-ACL cache; past it the cache starts over.
const maxCachedACLs = 4096

// Store keeps ACL policies in a storage.Store and caches both the parsed
// policies and the ACLs compiled from sets of them. Writes through the Store
// invalidate the caches; writes made to storage behind its back are not
// seen until the process restarts.
type Store struct {
	st storage.Store

	mu       sync.Mutex
	gen      uint64 // bumped by every change, so a slow load never caches stale data
	policies map[string]*Policy
	acls     map[string]*ACL
	// entityACLs caches ACLs rendered for an entity, keyed by the Entity
	// value's address: callers hand in a new Entity whenever the entity
	// changes, so an address never names stale values.
	entityACLs map[entityKey]*ACL
}

type entityKey struct {
	names string
	e     *Entity
}

// NewStore returns a Store over st.
func NewStore(st storage.Store) *Store {
	return &Store{st: st, policies: map[string]*Policy{}, acls: map[string]*ACL{}, entityACLs: map[entityKey]*ACL{}}
}

// entry is the stored form of a policy.
type entry struct {
	Name string `json:"name"`
	Text string `json:"policy"`
}

// Get returns the policy called name. The built-in root and default
// policies always exist. It returns ErrNotFound for an unknown name and
// ErrInvalidName for a malformed one.
func (s *Store) Get(ctx context.Context, name string) (*Policy, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	p, ok := s.policies[n]
	gen := s.gen
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err = s.load(ctx, n)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		s.policies[n] = p
	}
	s.mu.Unlock()
	return p, nil
}

func (s *Store) load(ctx context.Context, name string) (*Policy, error) {
	if name == RootName {
		return builtin(RootName), nil
	}
	e, err := s.st.Get(ctx, keyPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		if name == DefaultName {
			return builtin(DefaultName), nil
		}
		return nil, fmt.Errorf("policy %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy %q: %w", name, err)
	}
	var stored entry
	if err := json.Unmarshal(e.Value, &stored); err != nil {
		return nil, fmt.Errorf("decode policy %q: %w", name, err)
	}
	p, err := Parse(name, stored.Text)
	if err != nil {
		return nil, fmt.Errorf("stored policy %q: %w", name, err)
	}
	return p, nil
}

// Put parses text and stores it as the policy called name, replacing any
// policy of that name. Nothing is stored if text does not parse (a
// *ParseError) or name is root (ErrImmutable) or invalid (ErrInvalidName).
func (s *Store) Put(ctx context.Context, name, text string) error {
	n, err := NormalizeName(name)
	if err != nil {
		return err
	}
	if n == RootName {
		return ErrImmutable
	}
	if _, err := Parse(n, text); err != nil {
		return err
	}
	value, err := json.Marshal(entry{Name: n, Text: text})
	if err != nil {
		return fmt.Errorf("encode policy %q: %w", n, err)
	}
	if err := s.st.Put(ctx, &storage.Entry{Key: keyPrefix + n, Value: value}); err != nil {
		return fmt.Errorf("store policy %q: %w", n, err)
	}
	s.invalidate(n)
	return nil
}

// Delete removes the policy called name; deleting a missing policy is not
// an error. Root cannot be deleted (ErrImmutable), nor default
// (ErrNotDeletable).
func (s *Store) Delete(ctx context.Context, name string) error {
	n, err := NormalizeName(name)
	if err != nil {
		return err
	}
	switch n {
	case RootName:
		return ErrImmutable
	case DefaultName:
		return ErrNotDeletable
	}
	if err := s.st.Delete(ctx, keyPrefix+n); err != nil {
		return fmt.Errorf("delete policy %q: %w", n, err)
	}
	s.invalidate(n)
	return nil
}

// invalidate drops name's parsed policy and every compiled ACL: any of them
// may include it.
func (s *Store) invalidate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	delete(s.policies, name)
	clear(s.acls)
	clear(s.entityACLs)
}

// List returns the names of all policies, root and default included, sorted.
func (s *Store) List(ctx context.Context) ([]string, error) {
	keys, err := s.st.List(ctx, keyPrefix)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	names := []string{RootName, DefaultName}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// ACL returns the ACL compiled from the named policies, cached per set of
// names. Unknown names are skipped, as Vault does for tokens that outlive a
// policy. Templated rules are dropped; use EntityACL to render them.
func (s *Store) ACL(ctx context.Context, names []string) (*ACL, error) {
	set := nameSet(names)
	key := strings.Join(set, "\n")
	s.mu.Lock()
	a, ok := s.acls[key]
	gen := s.gen
	s.mu.Unlock()
	if ok {
		return a, nil
	}
	policies, err := s.policySet(ctx, set)
	if err != nil {
		return nil, err
	}
	if a, err = NewACL(policies...); err != nil {
		return nil, err
	}
	remember(s, s.acls, key, gen, a)
	return a, nil
}

// EntityACL is ACL for a caller with an identity entity: templated paths
// are rendered for e. Sets of policies without templates share ACL's cache;
// others are cached per set and Entity value, so e must not be modified
// once passed in (pass a new Entity when the entity changes).
func (s *Store) EntityACL(ctx context.Context, names []string, e *Entity) (*ACL, error) {
	set := nameSet(names)
	key := entityKey{names: strings.Join(set, "\n"), e: e}
	s.mu.Lock()
	a, ok := s.entityACLs[key]
	gen := s.gen
	s.mu.Unlock()
	if ok {
		return a, nil
	}
	policies, err := s.policySet(ctx, set)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(policies, (*Policy).Templated) {
		a, err = s.ACL(ctx, set)
	} else {
		rendered := make([]*Policy, len(policies))
		for i, p := range policies {
			rendered[i] = p.Render(e)
		}
		a, err = NewACL(rendered...)
	}
	if err != nil {
		return nil, err
	}
	remember(s, s.entityACLs, key, gen, a)
	return a, nil
}

// remember caches a under key in m, one of the store's ACL caches, unless
// a policy changed since gen (a was built from what may now be stale); a
// full cache starts over.
func remember[K comparable](s *Store, m map[K]*ACL, key K, gen uint64, a *ACL) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if len(m) >= maxCachedACLs {
		clear(m)
	}
	m[key] = a
}

func (s *Store) policySet(ctx context.Context, set []string) ([]*Policy, error) {
	policies := make([]*Policy, 0, len(set))
	for _, n := range set {
		p, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		policies = append(policies, p)
	}
	return policies, nil
}

// nameSet normalises names, dropping invalid ones, and sorts them uniquely.
func nameSet(names []string) []string {
	set := make([]string, 0, len(names))
	for _, n := range names {
		if n, err := NormalizeName(n); err == nil {
			set = append(set, n)
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}
