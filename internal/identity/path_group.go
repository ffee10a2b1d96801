package identity

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

type groupInput struct {
	ID              string             `field:"id"`
	Name            *string            `field:"name"`
	Type            *string            `field:"type"`
	Policies        *[]string          `field:"policies"`
	Metadata        *map[string]string `field:"metadata"`
	MemberEntityIDs *[]string          `field:"member_entity_ids"`
	MemberGroupIDs  *[]string          `field:"member_group_ids"`
}

func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) groupWrite(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		var in groupInput
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if by == "name" {
			n := req.Param("name")
			in.Name = &n
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var g *Group
		switch {
		case by == "id" || in.ID != "":
			id := in.ID
			if by == "id" {
				id = req.Param("id")
			}
			old, ok := s.groups[id]
			if !ok {
				return nil, logical.InvalidRequest("group not found from id")
			}
			g = cloneGroup(old)
		case deref(in.Name) != "":
			if id, ok := s.groupByName[*in.Name]; ok {
				g = cloneGroup(s.groups[id])
			}
		}
		created := g == nil
		if created {
			now := s.stamp()
			g = &Group{ID: newID(), Type: TypeInternal, CreationTime: now, LastUpdateTime: now}
			g.Name = "group_" + strings.ReplaceAll(g.ID, "-", "")[:8]
		}
		if in.Type != nil && *in.Type != "" {
			t := strings.ToLower(strings.TrimSpace(*in.Type))
			if t != TypeInternal && t != TypeExternal {
				return nil, logical.InvalidRequest("invalid group type %q", *in.Type)
			}
			if !created && t != g.Type {
				return nil, logical.InvalidRequest("group type cannot be changed")
			}
			g.Type = t
		}
		if n := deref(in.Name); n != "" && n != g.Name {
			if _, taken := s.groupByName[n]; taken {
				return nil, logical.InvalidRequest("group name is already in use")
			}
			g.Name = n
		}
		if in.Policies != nil {
			g.Policies = normalizePolicies(*in.Policies)
		}
		if in.Metadata != nil {
			g.Metadata = maps.Clone(*in.Metadata)
		}
		if in.MemberEntityIDs != nil {
			if g.Type == TypeExternal {
				return nil, logical.InvalidRequest("member entities can't be set manually for external groups")
			}
			ids := uniq(*in.MemberEntityIDs)
			for _, id := range ids {
				if _, ok := s.entities[id]; !ok {
					return nil, logical.InvalidRequest("invalid entity ID %q", id)
				}
			}
			g.MemberEntityIDs = ids
		}
		if in.MemberGroupIDs != nil {
			ids := uniq(*in.MemberGroupIDs)
			for _, id := range ids {
				if id == g.ID {
					return nil, logical.InvalidRequest("member group ID %q is same as the ID of the group", id)
				}
				if _, ok := s.groups[id]; !ok {
					return nil, logical.InvalidRequest("invalid member group ID %q", id)
				}
				// g would contain id; if id already contains g (at any
				// depth), that is a cycle.
				if s.groupReaches(id, g.ID, map[string][]string{g.ID: ids}) {
					return nil, logical.InvalidRequest("member group ID %q would create a cycle", id)
				}
			}
			g.MemberGroupIDs = ids
		}
		if !created {
			g.LastUpdateTime = s.stamp()
		}
		if err := s.storeGroup(ctx, g); err != nil {
			return nil, err
		}
		s.reindex()
		return &logical.Response{Data: map[string]any{"id": g.ID, "name": g.Name}}, nil
	}
}

func (s *Store) groupBy(by string, req *framework.Request) *Group {
	if by == "name" {
		return s.groups[s.groupByName[req.Param("name")]]
	}
	return s.groups[req.Param("id")]
}

func (s *Store) groupRead(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		g := s.groupBy(by, req)
		if g == nil {
			return nil, nil
		}
		return &logical.Response{Data: s.groupData(g)}, nil
	}
}

func (s *Store) groupDelete(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		g := s.groupBy(by, req)
		if g == nil {
			return nil, nil
		}
		err := s.deleteGroupLocked(ctx, g.ID)
		s.reindex()
		return nil, err
	}
}

func (s *Store) groupListID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.groups))
	info := map[string]any{}
	for id, g := range s.groups {
		keys = append(keys, id)
		gi := map[string]any{"name": g.Name, "num_member_entities": len(g.MemberEntityIDs), "num_parent_groups": len(s.parentsOfGroup[id])}
		if g.Alias != nil {
			gi["alias"] = s.withMount(g.Alias.MountAccessor, map[string]any{"id": g.Alias.ID, "name": g.Alias.Name})
		}
		info[id] = gi
	}
	return listResponse(keys, info), nil
}

func (s *Store) groupListName(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listResponse(slices.Collect(maps.Keys(s.groupByName)), nil), nil
}

// groupAliasOwner finds the group holding the group alias id. Called with
// mu held.
func (s *Store) groupAliasOwner(id string) *Group {
	for _, g := range s.groups {
		if g.Alias != nil && g.Alias.ID == id {
			return g
		}
	}
	return nil
}

func (s *Store) groupAliasWrite(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		ID            string  `field:"id"`
		Name          *string `field:"name"`
		MountAccessor *string `field:"mount_accessor"`
		CanonicalID   *string `field:"canonical_id"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if id := req.Param("id"); id != "" {
		in.ID = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var a GroupAlias
	var owner *Group
	if in.ID != "" {
		owner = s.groupAliasOwner(in.ID)
		if owner == nil {
			return nil, logical.InvalidRequest("invalid group alias ID")
		}
		a = *owner.Alias
	} else {
		if deref(in.Name) == "" {
			return nil, logical.InvalidRequest("missing alias name")
		}
		if deref(in.MountAccessor) == "" {
			return nil, logical.InvalidRequest("missing mount_accessor")
		}
		a = GroupAlias{ID: newID(), CreationTime: s.stamp()}
	}
	if n := deref(in.Name); n != "" {
		a.Name = n
	}
	if m := deref(in.MountAccessor); m != "" {
		a.MountAccessor = m
	}
	if c := deref(in.CanonicalID); c != "" {
		a.CanonicalID = c
	}
	if _, ok := s.mount(a.MountAccessor); !ok {
		return nil, logical.InvalidRequest("invalid mount accessor %q", a.MountAccessor)
	}
	if gid, ok := s.groupAliasByKey[key2(a.MountAccessor, a.Name)]; ok && (owner == nil || gid != owner.ID) {
		return nil, logical.InvalidRequest("combination of mount and group alias name is already in use")
	}
	var target *Group
	if a.CanonicalID == "" {
		// Vault creates an external group for an alias without one.
		now := s.stamp()
		target = &Group{ID: newID(), Type: TypeExternal, CreationTime: now, LastUpdateTime: now}
		target.Name = "group_" + strings.ReplaceAll(target.ID, "-", "")[:8]
		a.CanonicalID = target.ID
	} else {
		g, ok := s.groups[a.CanonicalID]
		if !ok {
			return nil, logical.InvalidRequest("invalid group ID given in 'canonical_id'")
		}
		if g.Type != TypeExternal {
			return nil, logical.InvalidRequest("alias can't be set on an internal group")
		}
		if g.Alias != nil && g.Alias.ID != a.ID {
			return nil, logical.InvalidRequest("group already has an alias")
		}
		target = cloneGroup(g)
	}
	a.LastUpdateTime = s.stamp()
	defer s.reindex()
	if owner != nil && owner.ID != target.ID {
		o := cloneGroup(owner)
		o.Alias = nil
		if err := s.storeGroup(ctx, o); err != nil {
			return nil, err
		}
	}
	target.Alias = &a
	if err := s.storeGroup(ctx, target); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": a.CanonicalID}}, nil
}

func (s *Store) groupAliasRead(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.groupAliasOwner(req.Param("id"))
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.groupAliasData(g.Alias)}, nil
}

func (s *Store) groupAliasDelete(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupAliasOwner(req.Param("id"))
	if g == nil {
		return nil, nil
	}
	g = cloneGroup(g)
	g.Alias = nil
	defer s.reindex()
	return nil, s.storeGroup(ctx, g)
}

func (s *Store) groupAliasList(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var keys []string
	info := map[string]any{}
	for _, g := range s.groups {
		if g.Alias == nil {
			continue
		}
		a := g.Alias
		keys = append(keys, a.ID)
		info[a.ID] = s.withMount(a.MountAccessor, map[string]any{"canonical_id": a.CanonicalID, "name": a.Name})
	}
	return listResponse(keys, info), nil
}

type lookupInput struct {
	ID                 string `field:"id"`
	Name               string `field:"name"`
	AliasID            string `field:"alias_id"`
	AliasName          string `field:"alias_name"`
	AliasMountAccessor string `field:"alias_mount_accessor"`
}

// criterion checks that exactly one way of finding the object was given.
func (in lookupInput) criterion() (string, error) {
	n := 0
	kind := ""
	for k, v := range map[string]string{"id": in.ID, "name": in.Name, "alias_id": in.AliasID, "alias": in.AliasName + in.AliasMountAccessor} {
		if v != "" {
			n++
			kind = k
		}
	}
	switch {
	case n == 0:
		return "", logical.InvalidRequest("missing type; one of id, name, alias_id, or alias_name and alias_mount_accessor must be supplied")
	case n > 1:
		return "", logical.InvalidRequest("query parameter combination not valid; only one of id, name, alias_id, or alias_name and alias_mount_accessor is allowed")
	case kind == "alias" && (in.AliasName == "" || in.AliasMountAccessor == ""):
		return "", logical.InvalidRequest("both 'alias_name' and 'alias_mount_accessor' need to be set")
	}
	return kind, nil
}

func (s *Store) lookupEntity(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in lookupInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	kind, err := in.criterion()
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var e *Entity
	switch kind {
	case "id":
		e = s.entities[in.ID]
	case "name":
		e = s.entities[s.entityByName[in.Name]]
	case "alias_id":
		if a, ok := s.aliases[in.AliasID]; ok {
			e = s.entities[a.CanonicalID]
		}
	case "alias":
		if a, ok := s.aliases[s.aliasByKey[key2(in.AliasMountAccessor, in.AliasName)]]; ok {
			e = s.entities[a.CanonicalID]
		}
	}
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.entityData(e)}, nil
}

func (s *Store) lookupGroup(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in lookupInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	kind, err := in.criterion()
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var g *Group
	switch kind {
	case "id":
		g = s.groups[in.ID]
	case "name":
		g = s.groups[s.groupByName[in.Name]]
	case "alias_id":
		g = s.groupAliasOwner(in.AliasID)
	case "alias":
		g = s.groups[s.groupAliasByKey[key2(in.AliasMountAccessor, in.AliasName)]]
	}
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.groupData(g)}, nil
}
