package approle

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern:    "role",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listRoles},
		Synopsis:   "List the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}",
		Fields: tokenfields.AddSchema(map[string]*framework.Field{
			"role_id":               {Type: framework.TypeString, Description: "A custom role ID; a random UUID when not given at creation."},
			"bind_secret_id":        {Type: framework.TypeBool, Description: "Require a secret ID at login (default true)."},
			"secret_id_bound_cidrs": {Type: framework.TypeStringSlice, Description: "CIDR blocks logins with this role may come from."},
			"secret_id_num_uses":    {Type: framework.TypeInt, Description: "Uses of each secret ID; 0 is unlimited."},
			"secret_id_ttl":         {Type: framework.TypeDuration, Description: "Lifetime of secret IDs; 0 is unlimited."},
			"local_secret_ids":      {Type: framework.TypeBool, Description: "Accepted for compatibility; there is no replication."},
		}, "policies", "period"),
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readRole,
			logical.CreateOperation: b.writeRole,
			logical.UpdateOperation: b.writeRole,
			logical.DeleteOperation: b.deleteRole,
		},
		ExistenceCheck: b.roleExists,
		Synopsis:       "Manage a role: its login constraints and token settings.",
	}
}

func (b *Backend) pathRoleID() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/role-id",
		Fields: map[string]*framework.Field{
			"role_id": {Type: framework.TypeString, Description: "The new role ID."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readRoleID,
			logical.UpdateOperation: b.writeRoleID,
		},
		Synopsis: "Read or set the role ID of a role.",
	}
}

func roleName(req *framework.Request) (string, error) {
	name := normalize(req.Param("role_name"))
	if name == "" {
		return "", logical.InvalidRequest("missing role_name")
	}
	return name, nil
}

// existingRole loads the role of the request's path; a missing role is a
// 400, as in Vault.
func existingRole(ctx context.Context, req *framework.Request) (*role, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	ro, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if ro == nil {
		return nil, logical.InvalidRequest("role %q does not exist", name)
	}
	return ro, nil
}

func (b *Backend) roleExists(ctx context.Context, req *framework.Request) (bool, error) {
	ro, err := loadRole(ctx, req.Storage, normalize(req.Param("role_name")))
	return ro != nil, err
}

func (b *Backend) listRoles(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, logical.ErrNotFound
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) readRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	ro, err := loadRole(ctx, req.Storage, name)
	if err != nil || ro == nil {
		return nil, err
	}
	data := ro.Fields.Data()
	data["bind_secret_id"] = ro.BindSecretID
	data["secret_id_bound_cidrs"] = nonNil(ro.SecretIDBoundCIDRs)
	data["secret_id_num_uses"] = ro.SecretIDNumUses
	data["secret_id_ttl"] = int64(ro.SecretIDTTL / time.Second)
	data["local_secret_ids"] = ro.LocalSecretIDs
	// Vault still shows the legacy names beside the token_ ones.
	data["policies"] = data["token_policies"]
	if ro.Period > 0 {
		data["period"] = data["token_period"]
	}
	return &logical.Response{Data: data}, nil
}

type roleIn struct {
	RoleID             *string        `field:"role_id"`
	BindSecretID       *bool          `field:"bind_secret_id"`
	SecretIDBoundCIDRs *[]string      `field:"secret_id_bound_cidrs"`
	SecretIDNumUses    *int           `field:"secret_id_num_uses"`
	SecretIDTTL        *time.Duration `field:"secret_id_ttl"`
	LocalSecretIDs     *bool          `field:"local_secret_ids"`
}

func (b *Backend) writeRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	var in roleIn
	var tok tokenfields.Input
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&tok); err != nil {
		return nil, err
	}
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	newRoleID := randid.UUID() // drawn outside the transaction, which may be retried
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		ro, err := loadRole(ctx, tx, name)
		if err != nil {
			return err
		}
		oldRoleID := ""
		if ro == nil {
			ro = &role{Name: name, BindSecretID: true, RoleID: newRoleID}
		} else {
			oldRoleID = ro.RoleID
		}
		if err := ro.apply(in, tok); err != nil {
			return err
		}
		if ro.RoleID != oldRoleID {
			if err := setRoleID(ctx, tx, key, name, oldRoleID, ro.RoleID); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, rolePrefix+name, ro)
	})
}

// apply merges a role write into ro, checking it as Vault does.
func (ro *role) apply(in roleIn, tok tokenfields.Input) error {
	if in.RoleID != nil {
		if *in.RoleID == "" {
			return logical.InvalidRequest("invalid role_id supplied, or failed to generate a role_id")
		}
		ro.RoleID = *in.RoleID
	}
	if in.BindSecretID != nil {
		ro.BindSecretID = *in.BindSecretID
	}
	if in.SecretIDBoundCIDRs != nil {
		if _, err := tokenfields.ParseCIDRs(*in.SecretIDBoundCIDRs); err != nil {
			return logical.InvalidRequest("invalid secret_id_bound_cidrs: %v", err)
		}
		ro.SecretIDBoundCIDRs = *in.SecretIDBoundCIDRs
	}
	if in.SecretIDNumUses != nil {
		if *in.SecretIDNumUses < 0 {
			return logical.InvalidRequest("secret_id_num_uses cannot be negative")
		}
		ro.SecretIDNumUses = *in.SecretIDNumUses
	}
	if in.SecretIDTTL != nil {
		if *in.SecretIDTTL < 0 {
			return logical.InvalidRequest("secret_id_ttl cannot be negative")
		}
		ro.SecretIDTTL = *in.SecretIDTTL
	}
	if in.LocalSecretIDs != nil {
		ro.LocalSecretIDs = *in.LocalSecretIDs
	}
	if err := ro.Fields.Apply(tok); err != nil {
		return err
	}
	if !ro.BindSecretID && len(ro.SecretIDBoundCIDRs) == 0 && len(ro.BoundCIDRs) == 0 {
		return logical.InvalidRequest("at least one constraint should be enabled on the role")
	}
	return nil
}

// setRoleID moves a role's index entry from oldID to newID, refusing an ID
// another role holds.
func setRoleID(ctx context.Context, tx storage.Tx, key []byte, name, oldID, newID string) error {
	var owner roleIDEntry
	ok, err := getJSON(ctx, tx, roleIDPrefix+mac(key, newID), &owner)
	if err != nil {
		return err
	}
	if ok && owner.Name != name {
		return logical.InvalidRequest("role_id already in use")
	}
	if oldID != "" {
		if err := deleteKey(ctx, tx, roleIDPrefix+mac(key, oldID)); err != nil {
			return err
		}
	}
	return putJSON(ctx, tx, roleIDPrefix+mac(key, newID), roleIDEntry{Name: name})
}

func (b *Backend) deleteRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		ro, err := loadRole(ctx, tx, name)
		if err != nil || ro == nil {
			return err
		}
		// A role recreated under the same name must not inherit the old
		// one's secret IDs.
		keys, err := secretIDsOf(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			var s secretID
			if ok, err := getJSON(ctx, tx, k, &s); err != nil {
				return err
			} else if ok {
				if err := deleteSecretID(ctx, tx, k, mac(key, s.Accessor)); err != nil {
					return err
				}
			}
		}
		if err := deleteKey(ctx, tx, roleIDPrefix+mac(key, ro.RoleID)); err != nil {
			return err
		}
		return deleteKey(ctx, tx, rolePrefix+name)
	})
}

func (b *Backend) readRoleID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	ro, err := loadRole(ctx, req.Storage, name)
	if err != nil || ro == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"role_id": ro.RoleID}}, nil
}

func (b *Backend) writeRoleID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := roleName(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		RoleID string `field:"role_id"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.RoleID == "" {
		return nil, logical.InvalidRequest("missing role_id")
	}
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		ro, err := loadRole(ctx, tx, name)
		if err != nil {
			return err
		}
		if ro == nil {
			return logical.InvalidRequest("role %q does not exist", name)
		}
		if ro.RoleID == in.RoleID {
			return nil
		}
		if err := setRoleID(ctx, tx, key, name, ro.RoleID, in.RoleID); err != nil {
			return err
		}
		ro.RoleID = in.RoleID
		return putJSON(ctx, tx, rolePrefix+name, ro)
	})
}
