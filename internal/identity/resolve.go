package identity

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/tresorhq/tresor/internal/policy"
)

// Resolved is what a request needs to know of its token's entity.
type Resolved struct {
	EntityID string
	Disabled bool
	// Policies are the identity policies: the entity's and those of every
	// group it belongs to, directly or through parent groups; sorted and
	// unique.
	Policies []string
	// GroupIDs are those groups, sorted.
	GroupIDs []string
	// Template holds the values templated policies are rendered with.
	Template *policy.Entity
}

// Resolve answers what the entity with id contributes to a request, from
// memory. It reports false when there is no such entity (deleted or
// merged away). The answer is shared and must not be modified.
func (s *Store) Resolve(id string) (*Resolved, bool) {
	s.cmu.Lock()
	r, ok := s.cache[id]
	gen := s.gen
	s.cmu.Unlock()
	if ok {
		return r, r != nil
	}
	s.mu.RLock()
	r = s.resolveLocked(id)
	s.mu.RUnlock()
	s.cmu.Lock()
	if s.gen == gen {
		s.cache[id] = r
	}
	s.cmu.Unlock()
	return r, r != nil
}

// resolveLocked computes Resolve's answer; nil for an unknown entity.
func (s *Store) resolveLocked(id string) *Resolved {
	e, ok := s.entities[id]
	if !ok {
		// Tokens of an entity merged into another act as the other.
		if e, ok = s.entities[s.mergedInto[id]]; !ok {
			return nil
		}
		id = e.ID
	}
	groups := s.groupClosure(id)
	r := &Resolved{EntityID: id, Disabled: e.Disabled, GroupIDs: groups}
	r.Policies = append(r.Policies, e.Policies...)
	t := &policy.Entity{
		ID: e.ID, Name: e.Name, Metadata: e.Metadata,
		Aliases: map[string]string{}, AliasIDs: map[string]string{},
		AliasMetadata: map[string]map[string]string{}, AliasCustomMetadata: map[string]map[string]string{},
		GroupNames: map[string]string{}, GroupIDs: map[string]string{},
	}
	for _, aid := range s.aliasesOfEntity[id] {
		a := s.aliases[aid]
		t.Aliases[a.MountAccessor] = a.Name
		t.AliasIDs[a.MountAccessor] = a.ID
		t.AliasMetadata[a.MountAccessor] = a.Metadata
		t.AliasCustomMetadata[a.MountAccessor] = a.CustomMetadata
	}
	for _, gid := range groups {
		g := s.groups[gid]
		r.Policies = append(r.Policies, g.Policies...)
		t.GroupNames[g.ID] = g.Name
		t.GroupIDs[g.Name] = g.ID
	}
	slices.Sort(r.Policies)
	r.Policies = slices.Compact(r.Policies)
	r.Template = t
	return r
}

// groupClosure lists the groups the entity is in: those naming it as a
// member, and every parent of those, transitively. Sorted.
func (s *Store) groupClosure(entityID string) []string {
	direct := s.groupsOfEntity[entityID]
	if len(direct) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(direct))
	queue := slices.Clone(direct)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		queue = append(queue, s.parentsOfGroup[id]...)
	}
	return slices.Sorted(maps.Keys(seen))
}

// directGroups answers the entity's direct and inherited groups, for reads.
func (s *Store) directGroups(entityID string) (direct, inherited []string) {
	direct = slices.Clone(s.groupsOfEntity[entityID])
	slices.Sort(direct)
	for _, g := range s.groupClosure(entityID) {
		if !slices.Contains(direct, g) {
			inherited = append(inherited, g)
		}
	}
	return direct, inherited
}

// Policies answers the identity policies of an entity (none for an
// unknown one), for token lookups.
func (s *Store) Policies(entityID string) []string {
	r, ok := s.Resolve(entityID)
	if !ok {
		return nil
	}
	return r.Policies
}

// LoginInput is what the core knows of a successful login.
type LoginInput struct {
	MountAccessor string
	// Alias is the caller's name within the auth method.
	Alias         string
	AliasMetadata map[string]string
	// GroupAliases are the caller's group names within the auth method,
	// matched to the aliases of external groups on that mount.
	GroupAliases []string
}

// wantedGroups are the external groups on the login's mount whose aliases
// the login names.
func (s *Store) wantedGroups(in LoginInput) map[string]bool {
	want := map[string]bool{}
	for _, n := range in.GroupAliases {
		if gid, ok := s.groupAliasByKey[key2(in.MountAccessor, n)]; ok {
			want[gid] = true
		}
	}
	return want
}

// loginUnchanged answers a login that needs no write: the alias exists
// with the same metadata and the entity's external groups on the mount
// are already those the login names. done is false otherwise. Called with
// mu held for reading.
func (s *Store) loginUnchanged(in LoginInput) (id string, done bool, err error) {
	aid, ok := s.aliasByKey[key2(in.MountAccessor, in.Alias)]
	if !ok {
		return "", false, nil
	}
	a := s.aliases[aid]
	e, ok := s.entities[a.CanonicalID]
	if !ok || !maps.Equal(a.Metadata, in.AliasMetadata) {
		return "", false, nil
	}
	want := s.wantedGroups(in)
	for _, gid := range s.externalOf[in.MountAccessor] {
		if slices.Contains(s.groups[gid].MemberEntityIDs, e.ID) != want[gid] {
			return "", false, nil
		}
	}
	if e.Disabled {
		return "", true, ErrDisabled
	}
	return e.ID, true, nil
}

// ErrDisabled is returned by Login for an entity that is disabled.
var ErrDisabled = errors.New("entity is disabled")

// Login finds the entity whose alias on the mount has the login's name,
// creating both on a first login, refreshes the alias's metadata, and sets
// the entity's membership of the mount's external groups to those its
// group aliases name. It returns the entity's ID.
func (s *Store) Login(ctx context.Context, in LoginInput) (string, error) {
	if in.Alias == "" {
		return "", nil
	}
	// Most logins change nothing: a returning caller with the same
	// metadata and groups. They share the read lock.
	s.mu.RLock()
	id, done, err := s.loginUnchanged(in)
	s.mu.RUnlock()
	if done {
		return id, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	groupsChanged := false
	defer func() {
		if groupsChanged {
			s.reindex()
		}
	}()
	var e *Entity
	var a *Alias
	if aid, ok := s.aliasByKey[key2(in.MountAccessor, in.Alias)]; ok {
		a = s.aliases[aid]
		e = s.entities[a.CanonicalID]
	}
	switch {
	case e == nil:
		e = s.newEntity("")
		if err := s.storeEntity(ctx, e); err != nil {
			return "", err
		}
		if a == nil {
			a = &Alias{ID: newID(), Name: in.Alias, MountAccessor: in.MountAccessor, CreationTime: e.CreationTime}
		} else {
			a = cloneAlias(a)
		}
		a.CanonicalID, a.LastUpdateTime = e.ID, e.CreationTime
		a.Metadata = maps.Clone(in.AliasMetadata)
		if err := s.storeAlias(ctx, a); err != nil {
			return "", err
		}
		s.indexNew(e, a)
	case !maps.Equal(a.Metadata, in.AliasMetadata):
		a = cloneAlias(a)
		a.Metadata = maps.Clone(in.AliasMetadata)
		a.LastUpdateTime = s.stamp()
		if err := s.storeAlias(ctx, a); err != nil {
			return "", err
		}
		s.forget(a.CanonicalID)
	}
	if e.Disabled {
		return "", ErrDisabled
	}
	want := s.wantedGroups(in)
	for _, gid := range s.externalOf[in.MountAccessor] {
		g := s.groups[gid]
		has := slices.Contains(g.MemberEntityIDs, e.ID)
		if has == want[gid] {
			continue
		}
		g = cloneGroup(g)
		if has {
			g.MemberEntityIDs = slices.DeleteFunc(g.MemberEntityIDs, func(m string) bool { return m == e.ID })
		} else {
			g.MemberEntityIDs = append(g.MemberEntityIDs, e.ID)
		}
		if err := s.storeGroup(ctx, g); err != nil {
			return "", err
		}
		groupsChanged = true
	}
	return e.ID, nil
}
