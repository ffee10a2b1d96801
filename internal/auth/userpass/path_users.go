package userpass

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// legacyFields are the pre-token_ names userpass still accepts.
var legacyFields = []string{"policies", "ttl", "max_ttl", "bound_cidrs"}

func (b *Backend) pathUsersList() *framework.Path {
	return &framework.Path{
		Pattern:    "users",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listUsers},
		Synopsis:   "List the users.",
	}
}

func (b *Backend) pathUser() *framework.Path {
	return &framework.Path{
		Pattern: "users/{username}",
		Fields: tokenfields.AddSchema(map[string]*framework.Field{
			"password": {Type: framework.TypeString, Description: "The user's password; required when creating the user."},
		}, legacyFields...),
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readUser,
			logical.CreateOperation: b.writeUser,
			logical.UpdateOperation: b.writeUser,
			logical.DeleteOperation: b.deleteUser,
		},
		ExistenceCheck: b.userExists,
		Synopsis:       "Manage a user: password and token settings.",
	}
}

func (b *Backend) pathUserPassword() *framework.Path {
	return &framework.Path{
		Pattern: "users/{username}/password",
		Fields: map[string]*framework.Field{
			"password": {Type: framework.TypeString, Required: true, Description: "The new password."},
		},
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.writePassword},
		Synopsis:   "Reset a user's password.",
	}
}

func (b *Backend) pathUserPolicies() *framework.Path {
	return &framework.Path{
		Pattern: "users/{username}/policies",
		Fields: map[string]*framework.Field{
			"token_policies": {Type: framework.TypeStringSlice, Description: "Policies of the user's tokens."},
			"policies":       {Type: framework.TypeStringSlice, Description: `Deprecated: use "token_policies".`},
		},
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.writePolicies},
		Synopsis:   "Change a user's token policies.",
	}
}

// username is the normalised user name of the request's path.
func username(req *framework.Request) (string, error) {
	name := normalize(req.Param("username"))
	if name == "" {
		return "", logical.InvalidRequest("missing username")
	}
	return name, nil
}

func (b *Backend) userExists(ctx context.Context, req *framework.Request) (bool, error) {
	u, err := loadUser(ctx, req.Storage, normalize(req.Param("username")))
	return u != nil, err
}

func (b *Backend) listUsers(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, userPrefix)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if len(keys) == 0 {
		return nil, logical.ErrNotFound
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) readUser(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := username(req)
	if err != nil {
		return nil, err
	}
	u, err := loadUser(ctx, req.Storage, name)
	if err != nil || u == nil {
		return nil, err
	}
	data := u.Fields.Data()
	// Vault still shows the legacy "policies" next to token_policies.
	data["policies"] = data["token_policies"]
	return &logical.Response{Data: data}, nil
}

func (b *Backend) writeUser(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := username(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		Password *string `field:"password"`
	}
	var tok tokenfields.Input
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&tok); err != nil {
		return nil, err
	}
	// Hash before the transaction: bcrypt is slow and the transaction may
	// be retried.
	var hash []byte
	if in.Password != nil && *in.Password != "" {
		if hash, err = b.hash(*in.Password); err != nil {
			return nil, err
		}
	}
	err = req.Storage.Update(ctx, func(tx storage.Tx) error {
		u, err := loadUser(ctx, tx, name)
		if err != nil {
			return err
		}
		if u == nil {
			if hash == nil {
				return logical.InvalidRequest("missing password")
			}
			u = &user{}
		}
		if hash != nil {
			u.PasswordHash = hash
		}
		if err := u.Fields.Apply(tok); err != nil {
			return err
		}
		return saveUser(ctx, tx, name, u)
	})
	return nil, err
}

func (b *Backend) deleteUser(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := username(req)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Delete(ctx, userPrefix+name); err != nil {
		return nil, fmt.Errorf("delete user: %w", err)
	}
	b.lockout.unlock(name)
	return nil, nil
}

func (b *Backend) writePassword(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := username(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		Password string `field:"password"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, logical.InvalidRequest("missing password")
	}
	hash, err := b.hash(in.Password)
	if err != nil {
		return nil, err
	}
	return nil, b.updateUser(ctx, req, name, func(u *user) error {
		u.PasswordHash = hash
		return nil
	})
}

func (b *Backend) writePolicies(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := username(req)
	if err != nil {
		return nil, err
	}
	var tok tokenfields.Input
	if err := req.Decode(&tok); err != nil {
		return nil, err
	}
	if tok.Policies == nil && tok.LegacyPolicies == nil {
		return nil, logical.InvalidRequest("missing token_policies")
	}
	return nil, b.updateUser(ctx, req, name, func(u *user) error {
		return u.Fields.Apply(tokenfields.Input{Policies: tok.Policies, LegacyPolicies: tok.LegacyPolicies})
	})
}

// updateUser changes an existing user in one transaction.
func (b *Backend) updateUser(ctx context.Context, req *framework.Request, name string, change func(*user) error) error {
	return req.Storage.Update(ctx, func(tx storage.Tx) error {
		u, err := loadUser(ctx, tx, name)
		if err != nil {
			return err
		}
		if u == nil {
			return logical.InvalidRequest("username does not exist")
		}
		if err := change(u); err != nil {
			return err
		}
		return saveUser(ctx, tx, name, u)
	})
}

func (b *Backend) hash(password string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), b.cost)
	if err != nil {
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return nil, logical.InvalidRequest("password too long: at most 72 bytes")
		}
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}
