package identity

import (
	"slices"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Backend returns the logical backend mounted at identity/.
func (s *Store) Backend() logical.Backend {
	fb, err := framework.New(backendHelp, s.paths())
	if err != nil {
		panic(err) // the path table is static: a failure is a bug
	}
	return fb
}

const backendHelp = `The identity store keeps entities, their aliases in auth methods, and
groups of entities; their policies apply to every token of the entity.`

func ops(read, write, del framework.Handler) map[logical.Operation]framework.Handler {
	m := map[logical.Operation]framework.Handler{}
	if read != nil {
		m[logical.ReadOperation] = read
	}
	if write != nil {
		m[logical.CreateOperation] = write
		m[logical.UpdateOperation] = write
	}
	if del != nil {
		m[logical.DeleteOperation] = del
	}
	return m
}

func list(h framework.Handler) map[logical.Operation]framework.Handler {
	return map[logical.Operation]framework.Handler{logical.ListOperation: h}
}

var (
	entityFields = map[string]*framework.Field{
		"id":       {Type: framework.TypeString, Description: "ID of the entity to update."},
		"name":     {Type: framework.TypeString, Description: "Name of the entity."},
		"policies": {Type: framework.TypeStringSlice, Description: "Policies of the entity."},
		"metadata": {Type: framework.TypeKVPairs, Description: "Metadata of the entity."},
		"disabled": {Type: framework.TypeBool, Description: "Refuse the entity's tokens."},
	}
	aliasFields = map[string]*framework.Field{
		"id":              {Type: framework.TypeString, Description: "ID of the alias to update."},
		"name":            {Type: framework.TypeString, Description: "Name of the alias in its auth method."},
		"canonical_id":    {Type: framework.TypeString, Description: "ID of the entity the alias belongs to."},
		"mount_accessor":  {Type: framework.TypeString, Description: "Accessor of the auth mount."},
		"custom_metadata": {Type: framework.TypeKVPairs, Description: "Metadata set through the API."},
	}
	groupFields = map[string]*framework.Field{
		"id":                {Type: framework.TypeString, Description: "ID of the group to update."},
		"name":              {Type: framework.TypeString, Description: "Name of the group."},
		"type":              {Type: framework.TypeString, Description: `"internal" (default) or "external".`},
		"policies":          {Type: framework.TypeStringSlice, Description: "Policies of the group."},
		"metadata":          {Type: framework.TypeKVPairs, Description: "Metadata of the group."},
		"member_entity_ids": {Type: framework.TypeStringSlice, Description: "Entities in the group (internal groups)."},
		"member_group_ids":  {Type: framework.TypeStringSlice, Description: "Groups in the group."},
	}
	groupAliasFields = map[string]*framework.Field{
		"id":             {Type: framework.TypeString, Description: "ID of the group alias to update."},
		"name":           {Type: framework.TypeString, Description: "Name of the group in its auth method."},
		"mount_accessor": {Type: framework.TypeString, Description: "Accessor of the auth mount."},
		"canonical_id":   {Type: framework.TypeString, Description: "ID of the external group."},
	}
	lookupFields = map[string]*framework.Field{
		"id":                   {Type: framework.TypeString},
		"name":                 {Type: framework.TypeString},
		"alias_id":             {Type: framework.TypeString},
		"alias_name":           {Type: framework.TypeString},
		"alias_mount_accessor": {Type: framework.TypeString},
	}
)

func withParam(fields map[string]*framework.Field, name string) map[string]*framework.Field {
	out := make(map[string]*framework.Field, len(fields)+1)
	for k, v := range fields {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func (s *Store) paths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "entity", Fields: entityFields, Operations: ops(nil, s.entityWrite(""), nil), Synopsis: "Create or update an entity."},
		{Pattern: "entity/id", Operations: list(s.entityListID), Synopsis: "List entities by ID."},
		{Pattern: "entity/id/{id}", Fields: entityFields, Operations: ops(s.entityRead("id"), s.entityWrite("id"), s.entityDelete("id")), Synopsis: "Manage an entity by ID."},
		{Pattern: "entity/name", Operations: list(s.entityListName), Synopsis: "List entities by name."},
		{Pattern: "entity/name/{name}", Fields: withParam(entityFields, "name"), Operations: ops(s.entityRead("name"), s.entityWrite("name"), s.entityDelete("name")), Synopsis: "Manage an entity by name."},
		{Pattern: "entity/merge", Fields: map[string]*framework.Field{
			"from_entity_ids":               {Type: framework.TypeStringSlice, Required: true},
			"to_entity_id":                  {Type: framework.TypeString, Required: true},
			"force":                         {Type: framework.TypeBool},
			"conflicting_alias_ids_to_keep": {Type: framework.TypeStringSlice},
		}, Operations: ops(nil, s.entityMerge, nil), Synopsis: "Merge entities into one."},
		{Pattern: "entity/batch-delete", Fields: map[string]*framework.Field{
			"entity_ids": {Type: framework.TypeStringSlice, Required: true},
		}, Operations: ops(nil, s.entityBatchDelete, nil), Synopsis: "Delete entities."},

		{Pattern: "entity-alias", Fields: aliasFields, Operations: ops(nil, s.aliasWrite, nil), Synopsis: "Create an entity alias."},
		{Pattern: "entity-alias/id", Operations: list(s.aliasList), Synopsis: "List entity aliases."},
		{Pattern: "entity-alias/id/{id}", Fields: aliasFields, Operations: ops(s.aliasRead, s.aliasWrite, s.aliasDelete), Synopsis: "Manage an entity alias."},

		{Pattern: "group", Fields: groupFields, Operations: ops(nil, s.groupWrite(""), nil), Synopsis: "Create or update a group."},
		{Pattern: "group/id", Operations: list(s.groupListID), Synopsis: "List groups by ID."},
		{Pattern: "group/id/{id}", Fields: groupFields, Operations: ops(s.groupRead("id"), s.groupWrite("id"), s.groupDelete("id")), Synopsis: "Manage a group by ID."},
		{Pattern: "group/name", Operations: list(s.groupListName), Synopsis: "List groups by name."},
		{Pattern: "group/name/{name}", Fields: withParam(groupFields, "name"), Operations: ops(s.groupRead("name"), s.groupWrite("name"), s.groupDelete("name")), Synopsis: "Manage a group by name."},

		{Pattern: "group-alias", Fields: groupAliasFields, Operations: ops(nil, s.groupAliasWrite, nil), Synopsis: "Create a group alias."},
		{Pattern: "group-alias/id", Operations: list(s.groupAliasList), Synopsis: "List group aliases."},
		{Pattern: "group-alias/id/{id}", Fields: groupAliasFields, Operations: ops(s.groupAliasRead, s.groupAliasWrite, s.groupAliasDelete), Synopsis: "Manage a group alias."},

		{Pattern: "lookup/entity", Fields: lookupFields, Operations: ops(nil, s.lookupEntity, nil), Synopsis: "Find an entity."},
		{Pattern: "lookup/group", Fields: lookupFields, Operations: ops(nil, s.lookupGroup, nil), Synopsis: "Find a group."},
	}
}

// timeString formats a time as Vault's identity objects show it.
func timeString(t time.Time) string { return t.Format(time.RFC3339Nano) }

// orEmpty keeps a nil list a JSON [] rather than null.
func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func mapOrNil(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (s *Store) mount(accessor string) (Mount, bool) {
	if s.opts.MountByAccessor == nil {
		return Mount{}, true
	}
	return s.opts.MountByAccessor(accessor)
}

// withMount adds an alias's mount fields (accessor, path, type) to m.
func (s *Store) withMount(accessor string, m map[string]any) map[string]any {
	mt, _ := s.mount(accessor)
	m["mount_accessor"], m["mount_path"], m["mount_type"] = accessor, mt.Path, mt.Type
	return m
}

func (s *Store) aliasData(a *Alias) map[string]any {
	return s.withMount(a.MountAccessor, map[string]any{
		"id":                        a.ID,
		"name":                      a.Name,
		"canonical_id":              a.CanonicalID,
		"metadata":                  mapOrNil(a.Metadata),
		"custom_metadata":           mapOrNil(a.CustomMetadata),
		"creation_time":             timeString(a.CreationTime),
		"last_update_time":          timeString(a.LastUpdateTime),
		"merged_from_canonical_ids": nil,
		"namespace_id":              "root",
		"local":                     false,
	})
}

// entityData is the read form of an entity. Called with mu held.
func (s *Store) entityData(e *Entity) map[string]any {
	aliases := []map[string]any{}
	for _, aid := range s.aliasesOfEntity[e.ID] {
		aliases = append(aliases, s.aliasData(s.aliases[aid]))
	}
	direct, inherited := s.directGroups(e.ID)
	all := slices.Concat(direct, inherited)
	slices.Sort(all)
	return map[string]any{
		"id":                  e.ID,
		"name":                e.Name,
		"policies":            orEmpty(e.Policies),
		"metadata":            mapOrNil(e.Metadata),
		"disabled":            e.Disabled,
		"aliases":             aliases,
		"direct_group_ids":    orEmpty(direct),
		"inherited_group_ids": orEmpty(inherited),
		"group_ids":           orEmpty(all),
		"merged_entity_ids":   e.MergedEntityIDs,
		"creation_time":       timeString(e.CreationTime),
		"last_update_time":    timeString(e.LastUpdateTime),
		"namespace_id":        "root",
		"mfa_secrets":         map[string]any{},
	}
}

// groupData is the read form of a group. Called with mu held.
func (s *Store) groupData(g *Group) map[string]any {
	alias := map[string]any{}
	if g.Alias != nil {
		alias = s.groupAliasData(g.Alias)
	}
	parents := slices.Clone(s.parentsOfGroup[g.ID])
	slices.Sort(parents)
	return map[string]any{
		"id":                g.ID,
		"name":              g.Name,
		"type":              g.Type,
		"policies":          orEmpty(g.Policies),
		"metadata":          mapOrNil(g.Metadata),
		"member_entity_ids": orEmpty(g.MemberEntityIDs),
		"member_group_ids":  orEmpty(g.MemberGroupIDs),
		"parent_group_ids":  orEmpty(parents),
		"alias":             alias,
		"creation_time":     timeString(g.CreationTime),
		"last_update_time":  timeString(g.LastUpdateTime),
		"modify_index":      1,
		"namespace_id":      "root",
	}
}

func (s *Store) groupAliasData(a *GroupAlias) map[string]any {
	return s.withMount(a.MountAccessor, map[string]any{
		"id":                        a.ID,
		"name":                      a.Name,
		"canonical_id":              a.CanonicalID,
		"metadata":                  nil,
		"creation_time":             timeString(a.CreationTime),
		"last_update_time":          timeString(a.LastUpdateTime),
		"merged_from_canonical_ids": nil,
		"namespace_id":              "root",
	})
}

func listResponse(keys []string, info map[string]any) *logical.Response {
	if len(keys) == 0 {
		return &logical.Response{Data: map[string]any{}}
	}
	slices.Sort(keys)
	d := map[string]any{"keys": keys}
	if info != nil {
		d["key_info"] = info
	}
	return &logical.Response{Data: d}
}
