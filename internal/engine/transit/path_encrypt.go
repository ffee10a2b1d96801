package transit

import (
	"context"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// batchFields are accepted by every endpoint with batch_input.
func batchFields(f map[string]*framework.Field) map[string]*framework.Field {
	f["batch_input"] = &framework.Field{Type: framework.TypeObjectSlice, Description: "Items to process in one request; results keep their order."}
	f["partial_failure_response_code"] = &framework.Field{Type: framework.TypeInt, Description: "HTTP status when some batch items fail and others succeed."}
	return f
}

func (b *Backend) pathEncrypt() *framework.Path {
	return &framework.Path{
		Pattern: "encrypt/{name}",
		Fields: batchFields(map[string]*framework.Field{
			"plaintext":             {Type: framework.TypeString, Description: "Base64 plaintext."},
			"context":               {Type: framework.TypeString, Description: "Base64 context for derived keys."},
			"nonce":                 {Type: framework.TypeString, Description: "Base64 nonce (legacy convergent keys)."},
			"key_version":           {Type: framework.TypeInt, Description: "Version to encrypt with; 0 is the latest."},
			"reference":             {Type: framework.TypeString, Description: "Echoed back in the batch result."},
			"associated_data":       {Type: framework.TypeString, Description: "Base64 data authenticated with the ciphertext (AEAD types)."},
			"type":                  {Type: framework.TypeString, Default: typeAES256, Description: "Type of the key if the request creates it."},
			"convergent_encryption": {Type: framework.TypeBool, Description: "Convergent encryption if the request creates the key."},
		}),
		Operations: map[logical.Operation]framework.Handler{
			logical.CreateOperation: b.encryptHandler,
			logical.UpdateOperation: b.encryptHandler,
		},
		ExistenceCheck: b.keyExists,
		Synopsis:       "Encrypt base64 plaintext with a named key, creating it if needed.",
	}
}

type encryptIn struct {
	Name        string           `field:"name"`
	Plaintext   *string          `field:"plaintext"`
	Context     string           `field:"context"`
	Nonce       string           `field:"nonce"`
	KeyVersion  int              `field:"key_version"`
	Reference   string           `field:"reference"`
	AAD         string           `field:"associated_data"`
	Type        string           `field:"type"`
	Convergent  bool             `field:"convergent_encryption"`
	Batch       []map[string]any `field:"batch_input"`
	PartialCode int              `field:"partial_failure_response_code"`
}

func (b *Backend) encryptHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in encryptIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	batch := in.Batch
	single := batch == nil
	if single {
		if in.Plaintext == nil {
			return nil, logical.InvalidRequest("missing plaintext to encrypt")
		}
		batch = []map[string]any{{"plaintext": *in.Plaintext, "context": in.Context, "nonce": in.Nonce, "key_version": in.KeyVersion, "associated_data": in.AAD}}
	} else if len(batch) == 0 {
		return nil, logical.InvalidRequest("missing batch input to process")
	}

	p, err := b.key(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		cfg, err := loadKeysConfig(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		if cfg.DisableUpsert {
			return nil, errKeyNotFound
		}
		if req.Operation != logical.CreateOperation {
			return nil, errKeyNotFound
		}
		first, _ := batchItem(batch[0]).str("context")
		p, err = b.ensureKey(ctx, req.Storage, createIn{Name: in.Name, Type: in.Type, Derived: first != "", Convergent: in.Convergent})
		if err != nil {
			return nil, err
		}
	}

	return runBatch(batch, single, in.PartialCode, func(it batchItem) (encryptResult, error) {
		ct, ver, err := encryptItem(p, it)
		return encryptResult{Ciphertext: ct, KeyVersion: ver}, err
	})
}

func encryptItem(p *policy, it batchItem) (string, int, error) {
	pt, err := it.str("plaintext")
	if err != nil {
		return "", 0, err
	}
	plaintext, err := b64(pt, "plaintext")
	if err != nil {
		return "", 0, err
	}
	return encryptWith(p, it, plaintext)
}

// encryptWith encrypts plaintext with the item's context, nonce,
// key_version and associated_data (encrypt, and rewrap after decrypting).
func encryptWith(p *policy, it batchItem, plaintext []byte) (string, int, error) {
	context, err := itemBytes(it, "context")
	if err != nil {
		return "", 0, err
	}
	nonce, err := itemBytes(it, "nonce")
	if err != nil {
		return "", 0, err
	}
	ver, err := it.int("key_version")
	if err != nil {
		return "", 0, err
	}
	aad, err := itemBytes(it, "associated_data")
	if err != nil {
		return "", 0, err
	}
	return p.encrypt(ver, plaintext, context, nonce, aad)
}

// itemBytes decodes the base64 field k of a batch item.
func itemBytes(it batchItem, k string) ([]byte, error) {
	s, err := it.str(k)
	if err != nil {
		return nil, err
	}
	return b64(s, k)
}
