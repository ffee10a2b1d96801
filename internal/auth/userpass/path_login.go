package userpass

import (
	"context"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// errInvalidCredentials is the one answer to an unknown user and a wrong
// password alike.
var errInvalidCredentials = logical.InvalidRequest("invalid username or password")

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login/{username}",
		Fields: map[string]*framework.Field{
			"password": {Type: framework.TypeString, Description: "The user's password."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.login,
			logical.CreateOperation: b.login,
		},
		Synopsis: "Log in with a user name and password.",
	}
}

func (b *Backend) login(ctx context.Context, req *framework.Request) (*logical.Response, error) {
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
	if b.lockout.locked(name, b.now()) {
		return nil, logical.ErrPermissionDenied
	}
	u, err := loadUser(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	// An unknown user is checked against a dummy hash of the same cost, so
	// that it takes as long as a wrong password.
	hash := b.dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	if b.compare(hash, []byte(in.Password)) != nil || u == nil {
		b.lockout.fail(name, b.now())
		return nil, errInvalidCredentials
	}
	b.lockout.unlock(name)

	auth := &logical.Auth{
		Metadata:    map[string]string{"username": name},
		DisplayName: name,
		Alias:       name,
		Renewable:   true,
	}
	u.Fields.FillAuth(auth)
	return &logical.Response{Auth: auth}, nil
}
