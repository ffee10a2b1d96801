package approle

import (
	"context"
	"maps"
	"strings"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// ErrInvalidCredentials is the answer to every login whose role ID or
// secret ID is unknown, expired or used up: one text, so that a caller
// learns nothing about which part was wrong.
var ErrInvalidCredentials = logical.InvalidRequest("invalid role or secret ID")

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.Field{
			"role_id":   {Type: framework.TypeString, Description: "The role ID."},
			"secret_id": {Type: framework.TypeString, Description: "A secret ID of the role; required when the role binds secret IDs."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.login,
			logical.CreateOperation: b.login,
		},
		Synopsis: "Log in with a role ID and a secret ID.",
	}
}

func (b *Backend) login(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		RoleID   string `field:"role_id"`
		SecretID string `field:"secret_id"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	roleID := strings.TrimSpace(in.RoleID)
	if roleID == "" {
		return nil, logical.InvalidRequest("missing role_id")
	}
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	var idx roleIDEntry
	ok, err := getJSON(ctx, req.Storage, roleIDPrefix+mac(key, roleID), &idx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	ro, err := loadRole(ctx, req.Storage, idx.Name)
	if err != nil {
		return nil, err
	}
	if ro == nil {
		return nil, ErrInvalidCredentials
	}
	remote := ""
	if req.Connection != nil {
		remote = req.Connection.RemoteAddr
	}

	metadata := map[string]string{}
	tokenCIDRs := ro.BoundCIDRs
	if ro.BindSecretID {
		secret := strings.TrimSpace(in.SecretID)
		if secret == "" {
			return nil, logical.InvalidRequest("missing secret_id")
		}
		s, err := b.spendSecretID(ctx, req.Storage, key, ro, secret, remote)
		if err != nil {
			return nil, err
		}
		maps.Copy(metadata, s.Metadata)
		if len(s.TokenBoundCIDRs) > 0 {
			tokenCIDRs = s.TokenBoundCIDRs
		}
	} else if !tokenfields.AddrAllowed(remote, ro.SecretIDBoundCIDRs) {
		return nil, roleCIDRError(remote)
	}
	metadata["role_name"] = ro.Name

	// No display name: the core names the token after the mount
	// ("approle"), as Vault does.
	auth := &logical.Auth{
		Metadata:  metadata,
		Alias:     ro.RoleID,
		Renewable: true,
	}
	ro.Fields.FillAuth(auth)
	auth.BoundCIDRs = append([]string(nil), tokenCIDRs...)
	return &logical.Response{Auth: auth}, nil
}

// spendSecretID validates secret for ro and spends one of its uses, in a
// single transaction: the use count is checked and decremented (or the
// secret ID deleted on its last use) atomically. CIDR checks come before
// the use is spent, so a login from the wrong place costs nothing.
func (b *Backend) spendSecretID(ctx context.Context, s storage.Store, key []byte, ro *role, secret, remote string) (*secretID, error) {
	k := secretKey(ro.Name, mac(key, secret))
	var (
		entry   secretID
		verdict error // the client's answer when the transaction commits
	)
	err := s.Update(ctx, func(tx storage.Tx) error {
		verdict = nil
		ok, err := getJSON(ctx, tx, k, &entry)
		if err != nil {
			return err
		}
		if !ok {
			verdict = ErrInvalidCredentials
			return nil
		}
		now := b.now()
		if entry.expired(now) {
			verdict = ErrInvalidCredentials
			return deleteSecretID(ctx, tx, k, mac(key, entry.Accessor))
		}
		if !tokenfields.AddrAllowed(remote, entry.CIDRList) {
			verdict = logical.InvalidRequest("source address %q unauthorized by CIDR restrictions on the secret ID", remote)
			return nil
		}
		if !tokenfields.AddrAllowed(remote, ro.SecretIDBoundCIDRs) {
			verdict = roleCIDRError(remote)
			return nil
		}
		switch {
		case entry.NumUses == 1:
			return deleteSecretID(ctx, tx, k, mac(key, entry.Accessor))
		case entry.NumUses > 1:
			entry.NumUses--
			entry.LastUpdatedTime = now
			return putJSON(ctx, tx, k, &entry)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if verdict != nil {
		return nil, verdict
	}
	return &entry, nil
}

func roleCIDRError(remote string) error {
	return logical.InvalidRequest("source address %q unauthorized by CIDR restrictions on the role", remote)
}
