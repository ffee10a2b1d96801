package approle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// secretIDFields are the parameters of issuing a secret ID.
var secretIDFields = map[string]*framework.Field{
	"metadata":          {Type: framework.TypeMap, Description: "String metadata, as an object or a JSON string; it lands in the token's metadata."},
	"cidr_list":         {Type: framework.TypeStringSlice, Description: "CIDR blocks logins with this secret ID may come from."},
	"token_bound_cidrs": {Type: framework.TypeStringSlice, Description: "CIDR blocks the issued tokens may be used from."},
	"ttl":               {Type: framework.TypeDuration, Description: "Lifetime of this secret ID; at most the role's secret_id_ttl."},
	"num_uses":          {Type: framework.TypeInt, Description: "Uses of this secret ID; at most the role's secret_id_num_uses."},
}

func (b *Backend) pathSecretID() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/secret-id",
		Fields:  secretIDFields,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.generateSecretID,
			logical.CreateOperation: b.generateSecretID,
			logical.ListOperation:   b.listSecretIDs,
		},
		Synopsis: "Issue a secret ID for a role, or list the accessors of its secret IDs.",
	}
}

func (b *Backend) pathCustomSecretID() *framework.Path {
	fields := map[string]*framework.Field{
		"secret_id": {Type: framework.TypeString, Required: true, Description: "The secret ID to register."},
	}
	for k, v := range secretIDFields {
		fields[k] = v
	}
	return &framework.Path{
		Pattern: "role/{role_name}/custom-secret-id",
		Fields:  fields,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.customSecretID,
			logical.CreateOperation: b.customSecretID,
		},
		Synopsis: "Register a secret ID chosen by the caller.",
	}
}

type secretIDIn struct {
	Metadata        map[string]any `field:"metadata"`
	CIDRList        []string       `field:"cidr_list"`
	TokenBoundCIDRs []string       `field:"token_bound_cidrs"`
	TTL             *time.Duration `field:"ttl"`
	NumUses         *int           `field:"num_uses"`
}

func (b *Backend) generateSecretID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return b.issueSecretID(ctx, req, randid.UUID())
}

func (b *Backend) customSecretID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		SecretID string `field:"secret_id"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.SecretID == "" {
		return nil, logical.InvalidRequest("missing secret_id")
	}
	return b.issueSecretID(ctx, req, in.SecretID)
}

// issueSecretID stores secret (by HMAC) for the request's role.
func (b *Backend) issueSecretID(ctx context.Context, req *framework.Request, secret string) (*logical.Response, error) {
	ro, err := existingRole(ctx, req)
	if err != nil {
		return nil, err
	}
	if !ro.BindSecretID {
		return nil, logical.InvalidRequest("bind_secret_id is not set on the role")
	}
	var in secretIDIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	s, err := ro.newSecretID(in, b.now())
	if err != nil {
		return nil, err
	}
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	secretHMAC := mac(key, secret)
	err = req.Storage.Update(ctx, func(tx storage.Tx) error {
		// The role may have been deleted since it was read.
		if cur, err := loadRole(ctx, tx, ro.Name); err != nil || cur == nil {
			if err == nil {
				err = logical.InvalidRequest("role %q does not exist", ro.Name)
			}
			return err
		}
		k := secretKey(ro.Name, secretHMAC)
		if _, err := tx.Get(ctx, k); err == nil {
			return logical.InvalidRequest("SecretID is already registered")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("read secret ID: %w", err)
		}
		if err := putJSON(ctx, tx, accessorPrefix+mac(key, s.Accessor), accessorEntry{Role: ro.Name, SecretIDHMAC: secretHMAC}); err != nil {
			return err
		}
		return putJSON(ctx, tx, k, s)
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"secret_id":          secret,
		"secret_id_accessor": s.Accessor,
		"secret_id_ttl":      int64(s.TTL / time.Second),
		"secret_id_num_uses": s.NumUses,
	}, WrappedAccessor: s.Accessor}, nil
}

// newSecretID builds a secret ID entry from a request, within the role's
// limits.
func (ro *role) newSecretID(in secretIDIn, now time.Time) (*secretID, error) {
	s := &secretID{
		Accessor:        randid.UUID(),
		NumUses:         ro.SecretIDNumUses,
		TTL:             ro.SecretIDTTL,
		CreationTime:    now,
		LastUpdatedTime: now,
		CIDRList:        in.CIDRList,
		TokenBoundCIDRs: in.TokenBoundCIDRs,
	}
	if in.NumUses != nil {
		switch n := *in.NumUses; {
		case n < 0:
			return nil, logical.InvalidRequest("num_uses cannot be negative")
		case ro.SecretIDNumUses > 0 && (n == 0 || n > ro.SecretIDNumUses):
			return nil, logical.InvalidRequest("num_uses cannot be higher than the role's secret_id_num_uses")
		default:
			s.NumUses = n
		}
	}
	if in.TTL != nil {
		switch d := *in.TTL; {
		case d < 0:
			return nil, logical.InvalidRequest("ttl cannot be negative")
		case ro.SecretIDTTL > 0 && (d == 0 || d > ro.SecretIDTTL):
			return nil, logical.InvalidRequest("ttl cannot be longer than the role's secret_id_ttl")
		default:
			s.TTL = d
		}
	}
	if s.TTL > 0 {
		s.ExpirationTime = now.Add(s.TTL)
	}
	if len(in.Metadata) > 0 {
		s.Metadata = make(map[string]string, len(in.Metadata))
		for k, v := range in.Metadata {
			str, ok := v.(string)
			if !ok {
				return nil, logical.InvalidRequest("failed to parse metadata: value of %q is not a string", k)
			}
			s.Metadata[k] = str
		}
	}
	for _, c := range []struct {
		name         string
		inner, outer []string
	}{
		{"cidr_list", s.CIDRList, ro.SecretIDBoundCIDRs},
		{"token_bound_cidrs", s.TokenBoundCIDRs, ro.BoundCIDRs},
	} {
		if _, err := tokenfields.ParseCIDRs(c.inner); err != nil {
			return nil, logical.InvalidRequest("invalid %s: %v", c.name, err)
		}
		if ok, err := tokenfields.Subset(c.inner, c.outer); err != nil || !ok {
			return nil, logical.InvalidRequest("failed to verify the CIDR restrictions set on the secret ID: %s is not a subset of the role's", c.name)
		}
	}
	return s, nil
}

func (b *Backend) listSecretIDs(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	ro, err := existingRole(ctx, req)
	if err != nil {
		return nil, err
	}
	keys, err := secretIDsOf(ctx, req.Storage, ro.Name)
	if err != nil {
		return nil, err
	}
	accessors := make([]string, 0, len(keys))
	for _, k := range keys {
		var s secretID
		ok, err := getJSON(ctx, req.Storage, k, &s)
		if err != nil {
			return nil, err
		}
		if ok {
			accessors = append(accessors, s.Accessor)
		}
	}
	if len(accessors) == 0 {
		return nil, logical.ErrNotFound
	}
	return &logical.Response{Data: map[string]any{"keys": accessors}}, nil
}
