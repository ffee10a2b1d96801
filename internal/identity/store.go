package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Group types.
const (
	TypeInternal = "internal"
	TypeExternal = "external"
)

// Entity is one identity: a person or a service, whatever it logs in with.
type Entity struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Policies        []string          `json:"policies,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Disabled        bool              `json:"disabled,omitempty"`
	MergedEntityIDs []string          `json:"merged_entity_ids,omitempty"`
	CreationTime    time.Time         `json:"creation_time"`
	LastUpdateTime  time.Time         `json:"last_update_time"`
}

// Alias ties an entity to its name within one auth mount.
type Alias struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	CanonicalID   string `json:"canonical_id"`
	MountAccessor string `json:"mount_accessor"`
	// Metadata is set by the auth method at login (claim mappings);
	// CustomMetadata by the API.
	Metadata       map[string]string `json:"metadata,omitempty"`
	CustomMetadata map[string]string `json:"custom_metadata,omitempty"`
	CreationTime   time.Time         `json:"creation_time"`
	LastUpdateTime time.Time         `json:"last_update_time"`
}

// Group is a set of entities and groups sharing policies. Internal groups
// list their members; an external group's entity members are those whose
// logins through its alias's mount carried the alias's name.
type Group struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Policies []string          `json:"policies,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// MemberGroupIDs are the groups that are members of this one: their
	// entities inherit this group's policies.
	MemberEntityIDs []string    `json:"member_entity_ids,omitempty"`
	MemberGroupIDs  []string    `json:"member_group_ids,omitempty"`
	Alias           *GroupAlias `json:"alias,omitempty"`
	CreationTime    time.Time   `json:"creation_time"`
	LastUpdateTime  time.Time   `json:"last_update_time"`
}

// GroupAlias names an external group within one auth mount.
type GroupAlias struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	CanonicalID    string    `json:"canonical_id"`
	MountAccessor  string    `json:"mount_accessor"`
	CreationTime   time.Time `json:"creation_time"`
	LastUpdateTime time.Time `json:"last_update_time"`
}

// Mount is what the store knows of an auth mount.
type Mount struct {
	Path, Type string
}

// Options tune a Store.
type Options struct {
	Logger *slog.Logger
	// MountByAccessor finds the auth mount with an accessor; aliases may
	// only name existing auth mounts. When nil every accessor is accepted.
	MountByAccessor func(accessor string) (Mount, bool)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Storage keys inside the store's view.
const (
	entityPrefix = "entity/"
	aliasPrefix  = "alias/"
	groupPrefix  = "group/"
)

// Errors of the store; the backend turns them into Vault's answers.
var (
	ErrNotFound = errors.New("not found")
)

// Store holds entities, aliases and groups, persisted in a storage view
// and indexed in memory. It is safe for concurrent use.
type Store struct {
	st   storage.Store
	opts Options
	now  func() time.Time

	// mu guards the indexes. Writers hold it for writing while they
	// persist, so storage and memory change together.
	mu              sync.RWMutex
	entities        map[string]*Entity
	entityByName    map[string]string
	aliases         map[string]*Alias
	aliasByKey      map[string]string   // mount accessor + "\x00" + name → alias ID
	aliasesOfEntity map[string][]string // entity ID → alias IDs
	groups          map[string]*Group
	groupByName     map[string]string
	groupAliasByKey map[string]string   // mount accessor + "\x00" + name → group ID
	groupsOfEntity  map[string][]string // entity ID → groups listing it
	parentsOfGroup  map[string][]string // group ID → groups listing it
	mergedInto      map[string]string   // ID of a merged-away entity → its entity
	externalOf      map[string][]string // mount accessor → external groups with an alias there

	// cache holds Resolve's answers; every change clears it (see gen).
	cmu   sync.Mutex
	gen   uint64
	cache map[string]*Resolved
}

// Open loads every object under st into memory.
func Open(ctx context.Context, st storage.Store, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{st: st, opts: opts, now: opts.Now, cache: map[string]*Resolved{},
		entities: map[string]*Entity{}, aliases: map[string]*Alias{}, groups: map[string]*Group{}}
	if s.now == nil {
		s.now = time.Now
	}
	if err := loadAll(ctx, st, entityPrefix, func(e *Entity) { s.entities[e.ID] = e }); err != nil {
		return nil, err
	}
	if err := loadAll(ctx, st, aliasPrefix, func(a *Alias) { s.aliases[a.ID] = a }); err != nil {
		return nil, err
	}
	if err := loadAll(ctx, st, groupPrefix, func(g *Group) { s.groups[g.ID] = g }); err != nil {
		return nil, err
	}
	s.reindex()
	return s, nil
}

func loadAll[T any](ctx context.Context, st storage.Store, prefix string, add func(*T)) error {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		e, err := st.Get(ctx, prefix+k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s%s: %w", prefix, k, err)
		}
		v := new(T)
		if err := json.Unmarshal(e.Value, v); err != nil {
			return fmt.Errorf("decode %s%s: %w", prefix, k, err)
		}
		add(v)
	}
	return nil
}

func key2(accessor, name string) string { return accessor + "\x00" + name }

// reindex rebuilds every index from the three object maps. Called with mu
// held for writing (or before the store is shared). Objects are few enough
// (thousands) that a rebuild per change costs less than keeping each
// index right by hand would in bugs.
func (s *Store) reindex() {
	s.entityByName = make(map[string]string, len(s.entities))
	s.mergedInto = map[string]string{}
	for id, e := range s.entities {
		s.entityByName[e.Name] = id
		for _, m := range e.MergedEntityIDs {
			s.mergedInto[m] = id
		}
	}
	s.aliasByKey = make(map[string]string, len(s.aliases))
	s.aliasesOfEntity = map[string][]string{}
	for id, a := range s.aliases {
		s.aliasByKey[key2(a.MountAccessor, a.Name)] = id
		s.aliasesOfEntity[a.CanonicalID] = append(s.aliasesOfEntity[a.CanonicalID], id)
	}
	s.groupByName = make(map[string]string, len(s.groups))
	s.groupAliasByKey = map[string]string{}
	s.groupsOfEntity = map[string][]string{}
	s.parentsOfGroup = map[string][]string{}
	s.externalOf = map[string][]string{}
	for id, g := range s.groups {
		s.groupByName[g.Name] = id
		if g.Alias != nil {
			s.groupAliasByKey[key2(g.Alias.MountAccessor, g.Alias.Name)] = id
			if g.Type == TypeExternal {
				s.externalOf[g.Alias.MountAccessor] = append(s.externalOf[g.Alias.MountAccessor], id)
			}
		}
		for _, m := range g.MemberEntityIDs {
			s.groupsOfEntity[m] = append(s.groupsOfEntity[m], id)
		}
		for _, m := range g.MemberGroupIDs {
			s.parentsOfGroup[m] = append(s.parentsOfGroup[m], id)
		}
	}
	for _, ids := range s.aliasesOfEntity {
		slices.Sort(ids)
	}
	s.cmu.Lock()
	s.gen++
	clear(s.cache)
	s.cmu.Unlock()
}

// forget drops the cached resolution of one entity, after a change that
// concerns it alone. Called with mu held for writing.
func (s *Store) forget(entityID string) {
	s.cmu.Lock()
	s.gen++
	delete(s.cache, entityID)
	s.cmu.Unlock()
}

// indexNew indexes a new entity and its new alias without a rebuild: a
// first login must not cost a pass over every entity. Called with mu held
// for writing.
func (s *Store) indexNew(e *Entity, a *Alias) {
	if e != nil {
		s.entityByName[e.Name] = e.ID
	}
	if a != nil {
		s.aliasByKey[key2(a.MountAccessor, a.Name)] = a.ID
		ids := append(s.aliasesOfEntity[a.CanonicalID], a.ID)
		slices.Sort(ids)
		s.aliasesOfEntity[a.CanonicalID] = ids
		s.forget(a.CanonicalID)
	}
}

// put persists v at key. Called with mu held for writing.
func (s *Store) put(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := s.st.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func (s *Store) del(ctx context.Context, key string) error {
	if err := s.st.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (s *Store) stamp() time.Time { return s.now().UTC() }

func cloneEntity(e *Entity) *Entity {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.Metadata = maps.Clone(e.Metadata)
	c.MergedEntityIDs = slices.Clone(e.MergedEntityIDs)
	return &c
}

func cloneAlias(a *Alias) *Alias {
	c := *a
	c.Metadata = maps.Clone(a.Metadata)
	c.CustomMetadata = maps.Clone(a.CustomMetadata)
	return &c
}

func cloneGroup(g *Group) *Group {
	c := *g
	c.Policies = slices.Clone(g.Policies)
	c.Metadata = maps.Clone(g.Metadata)
	c.MemberEntityIDs = slices.Clone(g.MemberEntityIDs)
	c.MemberGroupIDs = slices.Clone(g.MemberGroupIDs)
	if g.Alias != nil {
		a := *g.Alias
		c.Alias = &a
	}
	return &c
}

// newEntity makes (but does not store) an entity with a fresh ID and,
// without a name, Vault's generated "entity_<8 hex>" name.
func (s *Store) newEntity(name string) *Entity {
	now := s.stamp()
	id := randid.UUID()
	if name == "" {
		name = "entity_" + strings.ReplaceAll(id, "-", "")[:8]
	}
	return &Entity{ID: id, Name: name, CreationTime: now, LastUpdateTime: now}
}

// storeEntity persists e and puts it in memory. Called with mu held.
func (s *Store) storeEntity(ctx context.Context, e *Entity) error {
	if err := s.put(ctx, entityPrefix+e.ID, e); err != nil {
		return err
	}
	s.entities[e.ID] = e
	return nil
}

func (s *Store) storeAlias(ctx context.Context, a *Alias) error {
	if err := s.put(ctx, aliasPrefix+a.ID, a); err != nil {
		return err
	}
	s.aliases[a.ID] = a
	return nil
}

func (s *Store) storeGroup(ctx context.Context, g *Group) error {
	if err := s.put(ctx, groupPrefix+g.ID, g); err != nil {
		return err
	}
	s.groups[g.ID] = g
	return nil
}

// deleteEntityLocked removes an entity, its aliases and its group
// memberships.
func (s *Store) deleteEntityLocked(ctx context.Context, id string) error {
	if _, ok := s.entities[id]; !ok {
		return nil
	}
	for _, aid := range s.aliasesOfEntity[id] {
		if err := s.del(ctx, aliasPrefix+aid); err != nil {
			return err
		}
		delete(s.aliases, aid)
	}
	for _, gid := range s.groupsOfEntity[id] {
		g := cloneGroup(s.groups[gid])
		g.MemberEntityIDs = slices.DeleteFunc(g.MemberEntityIDs, func(m string) bool { return m == id })
		if err := s.storeGroup(ctx, g); err != nil {
			return err
		}
	}
	if err := s.del(ctx, entityPrefix+id); err != nil {
		return err
	}
	delete(s.entities, id)
	return nil
}

// deleteGroupLocked removes a group and drops it from its parents.
func (s *Store) deleteGroupLocked(ctx context.Context, id string) error {
	if _, ok := s.groups[id]; !ok {
		return nil
	}
	for _, pid := range s.parentsOfGroup[id] {
		p := cloneGroup(s.groups[pid])
		p.MemberGroupIDs = slices.DeleteFunc(p.MemberGroupIDs, func(m string) bool { return m == id })
		if err := s.storeGroup(ctx, p); err != nil {
			return err
		}
	}
	if err := s.del(ctx, groupPrefix+id); err != nil {
		return err
	}
	delete(s.groups, id)
	return nil
}

// groupReaches reports whether, following member_group_ids down from
// from, the group target can be reached: adding from as a member of
// target would then make a cycle.
func (s *Store) groupReaches(from, target string, extra map[string][]string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 && len(seen) <= len(s.groups)+1 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id == target {
			return true
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		members := extra[id]
		if members == nil {
			if g := s.groups[id]; g != nil {
				members = g.MemberGroupIDs
			}
		}
		stack = append(stack, members...)
	}
	return false
}

func newID() string { return randid.UUID() }
