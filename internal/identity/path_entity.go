package identity

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

type entityInput struct {
	ID       string             `field:"id"`
	Name     *string            `field:"name"`
	Policies *[]string          `field:"policies"`
	Metadata *map[string]string `field:"metadata"`
	Disabled *bool              `field:"disabled"`
}

// normalizePolicies trims, drops empties and sorts uniquely.
func normalizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// entityWrite creates or updates an entity: by the id in the path or body,
// else by name (an existing name is updated, as Vault does), else new.
func (s *Store) entityWrite(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		var in entityInput
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var e *Entity
		switch {
		case by == "id" || in.ID != "":
			id := in.ID
			if by == "id" {
				id = req.Param("id")
			}
			old, ok := s.entities[id]
			if !ok {
				return nil, logical.InvalidRequest("entity not found from id")
			}
			e = cloneEntity(old)
		case in.Name != nil && *in.Name != "":
			if id, ok := s.entityByName[*in.Name]; ok {
				e = cloneEntity(s.entities[id])
			}
		}
		created := e == nil
		if created {
			name := ""
			if in.Name != nil {
				name = *in.Name
			}
			e = s.newEntity(name)
		}
		if in.Name != nil && *in.Name != "" && *in.Name != e.Name {
			if _, taken := s.entityByName[*in.Name]; taken {
				return nil, logical.InvalidRequest("entity name is already in use")
			}
			e.Name = *in.Name
		}
		if in.Policies != nil {
			e.Policies = normalizePolicies(*in.Policies)
		}
		if in.Metadata != nil {
			e.Metadata = maps.Clone(*in.Metadata)
		}
		if in.Disabled != nil {
			e.Disabled = *in.Disabled
		}
		if !created {
			e.LastUpdateTime = s.stamp()
		}
		if err := s.storeEntity(ctx, e); err != nil {
			return nil, err
		}
		s.reindex()
		return &logical.Response{Data: map[string]any{"id": e.ID, "name": e.Name, "aliases": nil}}, nil
	}
}

// entityBy finds the entity named by the request's capture. Called with mu
// held.
func (s *Store) entityBy(by string, req *framework.Request) *Entity {
	if by == "name" {
		return s.entities[s.entityByName[req.Param("name")]]
	}
	return s.entities[req.Param("id")]
}

func (s *Store) entityRead(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		e := s.entityBy(by, req)
		if e == nil {
			return nil, nil
		}
		return &logical.Response{Data: s.entityData(e)}, nil
	}
}

func (s *Store) entityDelete(by string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		e := s.entityBy(by, req)
		if e == nil {
			return nil, nil
		}
		err := s.deleteEntityLocked(ctx, e.ID)
		s.reindex()
		return nil, err
	}
}

func (s *Store) entityListID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.entities))
	info := map[string]any{}
	for id, e := range s.entities {
		keys = append(keys, id)
		aliases := []map[string]any{}
		for _, aid := range s.aliasesOfEntity[id] {
			a := s.aliases[aid]
			aliases = append(aliases, s.withMount(a.MountAccessor, map[string]any{"id": a.ID, "name": a.Name, "canonical_id": a.CanonicalID}))
		}
		info[id] = map[string]any{"name": e.Name, "aliases": aliases}
	}
	return listResponse(keys, info), nil
}

func (s *Store) entityListName(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listResponse(slices.Collect(maps.Keys(s.entityByName)), nil), nil
}

func (s *Store) entityBatchDelete(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		IDs []string `field:"entity_ids"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One rebuild at the end: deleting an entity reads only its own index
	// entries and the groups' current members, which the earlier deletions
	// of the batch keep right.
	defer s.reindex()
	for _, id := range in.IDs {
		if err := s.deleteEntityLocked(ctx, id); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// entityMerge moves the aliases and group memberships of from_entity_ids
// to to_entity_id and deletes the former. Two aliases on the same mount
// cannot both survive: unless conflicting_alias_ids_to_keep picks one, the
// merge is refused.
func (s *Store) entityMerge(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		From  []string `field:"from_entity_ids"`
		To    string   `field:"to_entity_id"`
		Force bool     `field:"force"`
		Keep  []string `field:"conflicting_alias_ids_to_keep"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	to, ok := s.entities[in.To]
	if !ok {
		return nil, logical.InvalidRequest("entity id to merge to is invalid")
	}
	to = cloneEntity(to)
	// byMount: the alias each mount will keep on the merged entity.
	byMount := map[string]string{}
	for _, aid := range s.aliasesOfEntity[to.ID] {
		byMount[s.aliases[aid].MountAccessor] = aid
	}
	var move, drop []string
	for _, fid := range in.From {
		if fid == to.ID {
			return nil, logical.InvalidRequest("to_entity_id should not be present in from_entity_ids")
		}
		if _, ok := s.entities[fid]; !ok {
			return nil, logical.InvalidRequest("entity id to merge from is invalid: %s", fid)
		}
		for _, aid := range s.aliasesOfEntity[fid] {
			acc := s.aliases[aid].MountAccessor
			other, clash := byMount[acc]
			switch {
			case !clash:
				byMount[acc] = aid
				move = append(move, aid)
			case slices.Contains(in.Keep, aid):
				byMount[acc] = aid
				move = append(move, aid)
				drop = append(drop, other)
			case slices.Contains(in.Keep, other) || in.Force:
				drop = append(drop, aid)
			default:
				return nil, logical.InvalidRequest("conflicting mount accessors in following alias IDs and one of them needs to be kept: %s, %s", other, aid)
			}
		}
	}
	defer s.reindex()
	for _, aid := range drop {
		if err := s.del(ctx, aliasPrefix+aid); err != nil {
			return nil, err
		}
		delete(s.aliases, aid)
		move = slices.DeleteFunc(move, func(m string) bool { return m == aid })
	}
	for _, aid := range move {
		a := cloneAlias(s.aliases[aid])
		a.CanonicalID = to.ID
		a.LastUpdateTime = s.stamp()
		if err := s.storeAlias(ctx, a); err != nil {
			return nil, err
		}
	}
	for _, fid := range in.From {
		from := s.entities[fid]
		to.MergedEntityIDs = append(to.MergedEntityIDs, fid)
		to.MergedEntityIDs = append(to.MergedEntityIDs, from.MergedEntityIDs...)
		for _, gid := range s.groupsOfEntity[fid] {
			g := cloneGroup(s.groups[gid])
			g.MemberEntityIDs = slices.DeleteFunc(g.MemberEntityIDs, func(m string) bool { return m == fid })
			if !slices.Contains(g.MemberEntityIDs, to.ID) {
				g.MemberEntityIDs = append(g.MemberEntityIDs, to.ID)
			}
			if err := s.storeGroup(ctx, g); err != nil {
				return nil, err
			}
		}
		if err := s.del(ctx, entityPrefix+fid); err != nil {
			return nil, err
		}
		delete(s.entities, fid)
	}
	to.LastUpdateTime = s.stamp()
	if err := s.storeEntity(ctx, to); err != nil {
		return nil, err
	}
	return nil, nil
}
