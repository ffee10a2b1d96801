package transit

import (
	"context"
	"encoding/base64"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathDecrypt() *framework.Path {
	return &framework.Path{
		Pattern: "decrypt/{name}",
		Fields: batchFields(map[string]*framework.Field{
			"ciphertext":      {Type: framework.TypeString, Description: "The ciphertext, vault:v<N>:<base64>."},
			"context":         {Type: framework.TypeString, Description: "Base64 context for derived keys."},
			"nonce":           {Type: framework.TypeString, Description: "Base64 nonce (legacy convergent keys)."},
			"reference":       {Type: framework.TypeString, Description: "Echoed back in the batch result."},
			"associated_data": {Type: framework.TypeString, Description: "Base64 associated data given at encryption."},
		}),
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.decryptHandler,
		},
		Synopsis: "Decrypt a ciphertext with a named key.",
	}
}

type decryptIn struct {
	Name        string             `field:"name"`
	Ciphertext  *string            `field:"ciphertext"`
	Context     string             `field:"context"`
	Nonce       string             `field:"nonce"`
	AAD         string             `field:"associated_data"`
	Batch       []framework.Object `field:"batch_input"`
	PartialCode int                `field:"partial_failure_response_code"`
}

func (b *Backend) decryptHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in decryptIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	batch, single, err := singleOrBatch(in.Batch, in.Ciphertext, "ciphertext", "missing ciphertext to decrypt",
		map[string]any{"context": in.Context, "nonce": in.Nonce, "associated_data": in.AAD})
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
	return runBatch(batch, single, in.PartialCode, func(it batchItem) (decryptResult, error) {
		pt, err := decryptItem(p, it)
		return decryptResult{Plaintext: base64.StdEncoding.EncodeToString(pt)}, err
	})
}

func decryptItem(p *policy, it batchItem) ([]byte, error) {
	ct, err := it.str("ciphertext")
	if err != nil {
		return nil, err
	}
	if ct == "" {
		return nil, logical.InvalidRequest("missing ciphertext to decrypt")
	}
	context, err := itemBytes(it, "context")
	if err != nil {
		return nil, err
	}
	aad, err := itemBytes(it, "associated_data")
	if err != nil {
		return nil, err
	}
	pt, _, err := p.decrypt(ct, context, aad)
	return pt, err
}

// singleOrBatch returns the items a request asks to process: its
// batch_input, or one item made of its top-level fields.
func singleOrBatch(batch []framework.Object, value *string, field, missing string, extra map[string]any) ([]framework.Object, bool, error) {
	if batch != nil {
		if len(batch) == 0 {
			return nil, false, logical.InvalidRequest("missing batch input to process")
		}
		return batch, false, nil
	}
	if value == nil {
		return nil, true, logical.InvalidRequest("%s", missing)
	}
	item := map[string]any{field: *value}
	for k, v := range extra {
		item[k] = v
	}
	return []framework.Object{framework.ObjectOf(item)}, true, nil
}
