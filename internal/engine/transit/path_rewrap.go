package transit

import (
	"context"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathRewrap() *framework.Path {
	return &framework.Path{
		Pattern: "rewrap/{name}",
		Fields: batchFields(map[string]*framework.Field{
			"ciphertext":      {Type: framework.TypeString, Description: "The ciphertext to re-encrypt."},
			"context":         {Type: framework.TypeString, Description: "Base64 context for derived keys."},
			"nonce":           {Type: framework.TypeString, Description: "Base64 nonce (legacy convergent keys)."},
			"key_version":     {Type: framework.TypeInt, Description: "Version to re-encrypt with; 0 is the latest."},
			"reference":       {Type: framework.TypeString, Description: "Echoed back in the batch result."},
			"associated_data": {Type: framework.TypeString, Description: "Base64 associated data, kept for the new ciphertext."},
		}),
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.rewrapHandler,
		},
		Synopsis: "Re-encrypt a ciphertext with the latest (or a given) version of its key, without revealing the plaintext.",
	}
}

func (b *Backend) rewrapHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		decryptIn
		KeyVersion int `field:"key_version"`
	}
	if err := req.Decode(&in.decryptIn); err != nil {
		return nil, err
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	batch, single, err := singleOrBatch(in.Batch, in.Ciphertext, "ciphertext", "missing ciphertext to rewrap",
		map[string]any{"context": in.Context, "nonce": in.Nonce, "key_version": in.KeyVersion, "associated_data": in.AAD})
	if err != nil {
		return nil, err
	}
	p, err := b.key(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errKeyNotFound
	}
	return runBatch(batch, single, in.PartialCode, func(it batchItem) (encryptResult, error) {
		ct, ver, err := rewrapItem(p, it)
		return encryptResult{Ciphertext: ct, KeyVersion: ver}, err
	})
}

func rewrapItem(p *policy, it batchItem) (string, int, error) {
	pt, err := decryptItem(p, it)
	if err != nil {
		return "", 0, err
	}
	return encryptWith(p, it, pt)
}
