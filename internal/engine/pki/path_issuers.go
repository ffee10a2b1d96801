package pki

import (
	"context"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) issuerPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern:    "issuers",
			Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listIssuers},
			Synopsis:   "List issuers.",
		},
		{
			Pattern: "issuer/{ref}",
			Fields: map[string]*framework.Field{
				"issuer_name":             {Type: framework.TypeString, Description: "New name of the issuer."},
				"leaf_not_after_behavior": {Type: framework.TypeString, Description: "err, truncate or permit: leaf certificates outliving the issuer."},
				"usage":                   {Type: framework.TypeStringSlice, Description: "read-only, issuing-certificates, crl-signing, ocsp-signing."},
			},
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readIssuer,
				logical.UpdateOperation: b.updateIssuer,
				logical.PatchOperation:  b.updateIssuer,
				logical.DeleteOperation: b.deleteIssuer,
			},
			Synopsis: "Read, rename or delete an issuer.",
		},
		{
			Pattern:    "issuer/{ref}/json",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.readIssuer},
			Synopsis:   "An issuer's certificate and chain.",
		},
		{
			Pattern:    "issuer/{ref}/pem",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.rawIssuer(true)},
			Synopsis:   "An issuer's certificate, PEM.",
		},
		{
			Pattern:    "issuer/{ref}/der",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.rawIssuer(false)},
			Synopsis:   "An issuer's certificate, DER.",
		},
		{
			Pattern:    "issuer/{ref}/crl/pem",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.issuerCRL(true)},
			Synopsis:   "An issuer's CRL, PEM.",
		},
		{
			Pattern:    "issuer/{ref}/crl/der",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.issuerCRL(false)},
			Synopsis:   "An issuer's CRL, DER.",
		},
		{
			Pattern:    "keys",
			Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listKeys},
			Synopsis:   "List keys.",
		},
		{
			Pattern: "key/{ref}",
			Fields: map[string]*framework.Field{
				"key_name": {Type: framework.TypeString, Description: "New name of the key."},
			},
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readKey,
				logical.UpdateOperation: b.updateKey,
				logical.DeleteOperation: b.deleteKey,
			},
			Synopsis: "Read, rename or delete a key.",
		},
	}
}

func (b *Backend) listIssuers(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(st.issuers) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(st.issuers))
	info := map[string]any{}
	for id, is := range st.issuers {
		keys = append(keys, id)
		info[id] = map[string]any{"issuer_name": is.Name, "is_default": id == st.defaultIssuer, "key_id": is.KeyID,
			"serial_number": serialText(is.cert.SerialNumber)}
	}
	slices.Sort(keys)
	return &logical.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

func issuerData(is *issuer) map[string]any {
	chain := make([]string, len(is.chain))
	for i, c := range is.chain {
		chain[i] = strings.TrimSpace(c)
	}
	return map[string]any{
		"issuer_id":               is.ID,
		"issuer_name":             is.Name,
		"key_id":                  is.KeyID,
		"certificate":             strings.TrimSpace(is.Certificate),
		"ca_chain":                chain,
		"leaf_not_after_behavior": is.LeafNotAfterBehavior,
		"usage":                   is.Usage,
		"serial_number":           serialText(is.cert.SerialNumber),
		"manual_chain":            nil,
		"revoked":                 false,
	}
}

func (b *Backend) readIssuer(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	is, err := st.resolveIssuer(req.Param("ref"))
	if err != nil {
		return nil, nil
	}
	return &logical.Response{Data: issuerData(is)}, nil
}

func (b *Backend) rawIssuer(asPEM bool) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		st, err := b.loadState(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		is, err := st.resolveIssuer(req.Param("ref"))
		if err != nil {
			return nil, nil
		}
		if asPEM {
			return rawResponse([]byte(strings.TrimSpace(is.Certificate)+"\n"), "application/pem-certificate-chain"), nil
		}
		return rawResponse(is.cert.Raw, "application/pkix-cert"), nil
	}
}

func (b *Backend) issuerCRL(asPEM bool) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		der, err := b.currentCRL(ctx, req.Storage, req.Param("ref"))
		if err != nil {
			return nil, err
		}
		if asPEM {
			return rawResponse([]byte(crlPEM(der)), "application/x-pem-file"), nil
		}
		return rawResponse(der, "application/pkix-crl"), nil
	}
}

func (b *Backend) updateIssuer(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name     *string   `field:"issuer_name"`
		Behavior *string   `field:"leaf_not_after_behavior"`
		Usage    *[]string `field:"usage"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	is, err := st.resolveIssuer(req.Param("ref"))
	if err != nil {
		return nil, err
	}
	rec := is.issuerRecord
	if in.Name != nil && *in.Name != rec.Name {
		if *in.Name == "default" {
			return nil, logical.InvalidRequest("issuer name \"default\" is reserved")
		}
		if other, err := st.resolveIssuer(*in.Name); err == nil && other.ID != rec.ID && *in.Name != "" {
			return nil, logical.InvalidRequest("issuer name already in use")
		}
		rec.Name = *in.Name
	}
	if in.Behavior != nil {
		switch *in.Behavior {
		case "err", "truncate", "permit":
			rec.LeafNotAfterBehavior = *in.Behavior
		default:
			return nil, logical.InvalidRequest("invalid leaf_not_after_behavior: must be err, truncate or permit")
		}
	}
	if in.Usage != nil {
		for _, u := range *in.Usage {
			switch u {
			case "read-only", "issuing-certificates", "crl-signing", "ocsp-signing":
			default:
				return nil, logical.InvalidRequest("unknown usage %q", u)
			}
		}
		rec.Usage = strings.Join(*in.Usage, ",")
	}
	if err := putJSON(ctx, req.Storage, issuerPrefix+rec.ID, rec); err != nil {
		return nil, err
	}
	updated := *is
	updated.issuerRecord = rec
	return &logical.Response{Data: issuerData(&updated)}, nil
}

func (b *Backend) deleteIssuer(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	is, err := st.resolveIssuer(req.Param("ref"))
	if err != nil {
		return nil, nil
	}
	var warnings []string
	err = req.Storage.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, issuerPrefix+is.ID); err != nil {
			return err
		}
		if err := tx.Delete(ctx, crlPrefix+is.ID); err != nil {
			return err
		}
		if st.defaultIssuer == is.ID {
			warnings = []string{"Deleted issuer was the default issuer; a new default issuer has not been set."}
			return tx.Delete(ctx, issuersConfigKey)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if warnings != nil {
		return &logical.Response{Warnings: warnings}, nil
	}
	return nil, nil
}

func (b *Backend) listKeys(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(st.keys) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(st.keys))
	info := map[string]any{}
	for id, k := range st.keys {
		keys = append(keys, id)
		info[id] = map[string]any{"key_name": k.Name, "is_default": id == st.defaultKey}
	}
	slices.Sort(keys)
	return &logical.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

func keyData(k *keyRecord) map[string]any {
	return map[string]any{"key_id": k.ID, "key_name": k.Name, "key_type": k.Type, "key_bits": k.Bits}
}

func (b *Backend) readKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	k, err := st.resolveKey(req.Param("ref"))
	if err != nil {
		return nil, nil
	}
	return &logical.Response{Data: keyData(k)}, nil
}

func (b *Backend) updateKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name string `field:"key_name"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	k, err := st.resolveKey(req.Param("ref"))
	if err != nil {
		return nil, err
	}
	if in.Name == "default" {
		return nil, logical.InvalidRequest("key name \"default\" is reserved")
	}
	if other, err := st.resolveKey(in.Name); err == nil && other.ID != k.ID && in.Name != "" {
		return nil, logical.InvalidRequest("key name already in use")
	}
	rec := *k
	rec.Name = in.Name
	if err := putJSON(ctx, req.Storage, keyPrefix+rec.ID, rec); err != nil {
		return nil, err
	}
	return &logical.Response{Data: keyData(&rec)}, nil
}

func (b *Backend) deleteKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	k, err := st.resolveKey(req.Param("ref"))
	if err != nil {
		return nil, nil
	}
	for _, is := range st.issuers {
		if is.KeyID == k.ID {
			return nil, logical.InvalidRequest("unable to delete key: key is in use by issuer %s", is.ID)
		}
	}
	err = req.Storage.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, keyPrefix+k.ID); err != nil {
			return err
		}
		if st.defaultKey == k.ID {
			return tx.Delete(ctx, keysConfigKey)
		}
		return nil
	})
	return nil, err
}
