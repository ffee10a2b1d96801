package database

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathRolesList() *framework.Path {
	return &framework.Path{
		Pattern:    "roles",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.list(rolePrefix)},
		Synopsis:   "List the dynamic roles.",
	}
}

// statementFields are the statement lists of a role; each takes a string
// of ";"-separated statements or a list.
var statementFields = []string{"creation_statements", "revocation_statements", "rollback_statements", "renew_statements"}

func (b *Backend) pathRoles() *framework.Path {
	fields := map[string]*framework.Field{
		"db_name":         {Type: framework.TypeString, Description: "The connection (config/<db_name>) the role uses."},
		"default_ttl":     {Type: framework.TypeDuration, Validate: nonNegativeDuration, Description: "Lease TTL of the credentials; 0 means the mount's."},
		"max_ttl":         {Type: framework.TypeDuration, Validate: nonNegativeDuration, Description: "Longest life of the credentials; 0 means the mount's."},
		"credential_type": {Type: framework.TypeString, Description: `Only "password" is supported.`},
	}
	for _, f := range statementFields {
		fields[f] = &framework.Field{Type: framework.TypeStringSlice, Description: "Statements; {{name}}, {{password}} and {{expiration}} are filled in."}
	}
	return &framework.Path{
		Pattern: "roles/{name}",
		Fields:  fields,
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readRole,
			logical.CreateOperation: b.writeRole,
			logical.UpdateOperation: b.writeRole,
			logical.DeleteOperation: b.deleteEntry(rolePrefix),
		},
		ExistenceCheck: b.exists(rolePrefix),
		Synopsis:       "Manage the roles that create database users on demand.",
	}
}

type roleIn struct {
	Name           string         `field:"name"`
	DBName         *string        `field:"db_name"`
	DefaultTTL     *time.Duration `field:"default_ttl"`
	MaxTTL         *time.Duration `field:"max_ttl"`
	CredentialType *string        `field:"credential_type"`
}

func nonNegativeDuration(v any) error {
	if v.(time.Duration) < 0 {
		return fmt.Errorf("must not be negative")
	}
	return nil
}

func (b *Backend) readRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	r, err := loadRole(ctx, req.Storage, req.Param("name"))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"db_name":               r.DBName,
		"creation_statements":   orEmpty(r.Creation),
		"revocation_statements": orEmpty(r.Revocation),
		"rollback_statements":   orEmpty(r.Rollback),
		"renew_statements":      orEmpty(r.Renew),
		"default_ttl":           int64(r.DefaultTTL / time.Second),
		"max_ttl":               int64(r.MaxTTL / time.Second),
		"credential_type":       "password",
		"credential_config":     map[string]any{},
	}}, nil
}

func (b *Backend) writeRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in roleIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{}
	}
	set(&r.DBName, in.DBName)
	set(&r.DefaultTTL, in.DefaultTTL)
	set(&r.MaxTTL, in.MaxTTL)
	for name, dst := range map[string]*[]string{
		"creation_statements": &r.Creation, "revocation_statements": &r.Revocation,
		"rollback_statements": &r.Rollback, "renew_statements": &r.Renew,
	} {
		if v, ok := req.Data[name]; ok {
			*dst = statements(v)
		}
	}
	switch {
	case r.DBName == "":
		return nil, logical.InvalidRequest("empty database name attribute")
	case len(r.Creation) == 0:
		return nil, logical.InvalidRequest("creation statements are required")
	case in.CredentialType != nil && *in.CredentialType != "" && *in.CredentialType != "password":
		return nil, logical.InvalidRequest("credential_type %q is not supported: only \"password\"", *in.CredentialType)
	case r.MaxTTL > 0 && r.DefaultTTL > r.MaxTTL:
		return nil, logical.InvalidRequest("ttl cannot be greater than max_ttl")
	}
	return nil, save(ctx, req.Storage, rolePrefix+in.Name, r)
}

// deleteEntry deletes prefix + name.
func (b *Backend) deleteEntry(prefix string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		if err := req.Storage.Delete(ctx, prefix+req.Param("name")); err != nil {
			return nil, fmt.Errorf("delete: %w", err)
		}
		return nil, nil
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
