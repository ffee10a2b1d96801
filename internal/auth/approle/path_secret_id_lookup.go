package approle

import (
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

var (
	secretIDField = map[string]*framework.Field{
		"secret_id": {Type: framework.TypeString, Description: "The secret ID."},
	}
	accessorField = map[string]*framework.Field{
		"secret_id_accessor": {Type: framework.TypeString, Description: "The accessor of the secret ID."},
	}
)

func (b *Backend) pathSecretIDLookup() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/secret-id/lookup",
		Fields:  secretIDField,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.lookupSecretID,
			logical.CreateOperation: b.lookupSecretID,
		},
		Synopsis: "Read the properties of a secret ID.",
	}
}

func (b *Backend) pathSecretIDDestroy() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/secret-id/destroy",
		Fields:  secretIDField,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.destroySecretID,
			logical.CreateOperation: b.destroySecretID,
			logical.DeleteOperation: b.destroySecretID,
		},
		Synopsis: "Destroy a secret ID.",
	}
}

func (b *Backend) pathAccessorLookup() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/secret-id-accessor/lookup",
		Fields:  accessorField,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.lookupAccessor,
			logical.CreateOperation: b.lookupAccessor,
		},
		Synopsis: "Read the properties of a secret ID by its accessor.",
	}
}

func (b *Backend) pathAccessorDestroy() *framework.Path {
	return &framework.Path{
		Pattern: "role/{role_name}/secret-id-accessor/destroy",
		Fields:  accessorField,
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.destroyAccessor,
			logical.CreateOperation: b.destroyAccessor,
			logical.DeleteOperation: b.destroyAccessor,
		},
		Synopsis: "Destroy a secret ID by its accessor.",
	}
}

// secretIDKey is the storage key of the request's secret_id under the
// request's role.
func (b *Backend) secretIDKey(ctx context.Context, req *framework.Request) (*role, string, error) {
	ro, err := existingRole(ctx, req)
	if err != nil {
		return nil, "", err
	}
	var in struct {
		SecretID string `field:"secret_id"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, "", err
	}
	if in.SecretID == "" {
		return nil, "", logical.InvalidRequest("missing secret_id")
	}
	h, err := b.hmacOf(ctx, req.Storage, in.SecretID)
	if err != nil {
		return nil, "", err
	}
	return ro, secretKey(ro.Name, h), nil
}

func (b *Backend) lookupSecretID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	_, key, err := b.secretIDKey(ctx, req)
	if err != nil {
		return nil, err
	}
	var s secretID
	ok, err := getJSON(ctx, req.Storage, key, &s)
	if err != nil || !ok {
		return nil, err
	}
	return &logical.Response{Data: s.data()}, nil
}

func (b *Backend) destroySecretID(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	_, key, err := b.secretIDKey(ctx, req)
	if err != nil {
		return nil, err
	}
	hkey, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		var s secretID
		ok, err := getJSON(ctx, tx, key, &s)
		if err != nil || !ok {
			return err
		}
		return deleteSecretID(ctx, tx, key, mac(hkey, s.Accessor))
	})
}

// accessorQuery is a request to resolve an accessor within one role.
type accessorQuery struct {
	role         string
	accessor     string
	accessorHMAC string
}

// newAccessorQuery checks the request's role and reads its accessor. It
// runs outside any transaction, as it may create the HMAC key.
func (b *Backend) newAccessorQuery(ctx context.Context, req *framework.Request) (accessorQuery, error) {
	ro, err := existingRole(ctx, req)
	if err != nil {
		return accessorQuery{}, err
	}
	var in struct {
		Accessor string `field:"secret_id_accessor"`
	}
	if err := req.Decode(&in); err != nil {
		return accessorQuery{}, err
	}
	if in.Accessor == "" {
		return accessorQuery{}, logical.InvalidRequest("missing secret_id_accessor")
	}
	h, err := b.hmacOf(ctx, req.Storage, in.Accessor)
	if err != nil {
		return accessorQuery{}, err
	}
	return accessorQuery{role: ro.Name, accessor: in.Accessor, accessorHMAC: h}, nil
}

// find resolves the accessor to the storage key of its secret ID, but only
// among the query's role's own: an accessor of another role is reported
// missing, like an unknown one (CVE-2023-24999).
func (q accessorQuery) find(ctx context.Context, r storage.Reader) (string, *secretID, error) {
	notFound := &logical.Error{Kind: logical.KindNotFound, Messages: []string{
		fmt.Sprintf("failed to find accessor entry for secret_id_accessor: %q", q.accessor),
	}}
	var acc accessorEntry
	ok, err := getJSON(ctx, r, accessorPrefix+q.accessorHMAC, &acc)
	if err != nil {
		return "", nil, err
	}
	if !ok || acc.Role != q.role {
		return "", nil, notFound
	}
	key := secretKey(q.role, acc.SecretIDHMAC)
	s := new(secretID)
	ok, err = getJSON(ctx, r, key, s)
	if err != nil {
		return "", nil, err
	}
	if !ok || s.Accessor != q.accessor {
		return "", nil, notFound
	}
	return key, s, nil
}

func (b *Backend) lookupAccessor(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	q, err := b.newAccessorQuery(ctx, req)
	if err != nil {
		return nil, err
	}
	_, s, err := q.find(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: s.data()}, nil
}

func (b *Backend) destroyAccessor(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	q, err := b.newAccessorQuery(ctx, req)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		key, _, err := q.find(ctx, tx)
		if err != nil {
			return err
		}
		return deleteSecretID(ctx, tx, key, q.accessorHMAC)
	})
}
