package identity

import (
	"context"
	"maps"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

type aliasInput struct {
	ID             string             `field:"id"`
	Name           *string            `field:"name"`
	CanonicalID    *string            `field:"canonical_id"`
	MountAccessor  *string            `field:"mount_accessor"`
	CustomMetadata *map[string]string `field:"custom_metadata"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// aliasWrite creates an entity alias (POST entity-alias without id) or
// updates one (with id, in the body or the path).
func (s *Store) aliasWrite(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in aliasInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if id := req.Param("id"); id != "" {
		in.ID = id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var a *Alias
	if in.ID != "" {
		old, ok := s.aliases[in.ID]
		if !ok {
			return nil, logical.InvalidRequest("invalid alias ID provided")
		}
		a = cloneAlias(old)
	} else {
		if deref(in.Name) == "" {
			return nil, logical.InvalidRequest("missing alias name")
		}
		if deref(in.MountAccessor) == "" {
			return nil, logical.InvalidRequest("missing mount_accessor")
		}
		now := s.stamp()
		a = &Alias{ID: newID(), CreationTime: now}
	}
	if in.Name != nil && *in.Name != "" {
		a.Name = *in.Name
	}
	if in.MountAccessor != nil && *in.MountAccessor != "" {
		a.MountAccessor = *in.MountAccessor
	}
	if in.CustomMetadata != nil {
		a.CustomMetadata = maps.Clone(*in.CustomMetadata)
	}
	if _, ok := s.mount(a.MountAccessor); !ok {
		return nil, logical.InvalidRequest("invalid mount accessor %q", a.MountAccessor)
	}
	if other, ok := s.aliasByKey[key2(a.MountAccessor, a.Name)]; ok && other != a.ID {
		return nil, logical.InvalidRequest("alias with combination of mount accessor and name already exists")
	}
	if in.CanonicalID != nil && *in.CanonicalID != "" {
		a.CanonicalID = *in.CanonicalID
	}
	var newEntity *Entity
	if a.CanonicalID == "" {
		newEntity = s.newEntity("")
		a.CanonicalID = newEntity.ID
	} else if _, ok := s.entities[a.CanonicalID]; !ok {
		return nil, logical.InvalidRequest("invalid canonical ID")
	}
	for _, other := range s.aliasesOfEntity[a.CanonicalID] {
		if other != a.ID && s.aliases[other].MountAccessor == a.MountAccessor {
			return nil, logical.InvalidRequest("alias already exists for requested entity and mount accessor")
		}
	}
	a.LastUpdateTime = s.stamp()
	defer s.reindex()
	if newEntity != nil {
		if err := s.storeEntity(ctx, newEntity); err != nil {
			return nil, err
		}
	}
	if err := s.storeAlias(ctx, a); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": a.CanonicalID}}, nil
}

func (s *Store) aliasRead(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.aliases[req.Param("id")]
	if !ok {
		return nil, nil
	}
	return &logical.Response{Data: s.aliasData(a)}, nil
}

func (s *Store) aliasDelete(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.Param("id")
	if _, ok := s.aliases[id]; !ok {
		return nil, nil
	}
	defer s.reindex()
	if err := s.del(ctx, aliasPrefix+id); err != nil {
		return nil, err
	}
	delete(s.aliases, id)
	return nil, nil
}

func (s *Store) aliasList(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.aliases))
	info := map[string]any{}
	for id, a := range s.aliases {
		keys = append(keys, id)
		info[id] = s.withMount(a.MountAccessor, map[string]any{"canonical_id": a.CanonicalID, "name": a.Name,
			"custom_metadata": mapOrNil(a.CustomMetadata)})
	}
	return listResponse(keys, info), nil
}
