package transit

import (
	"context"
	"encoding/base64"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathDatakey() *framework.Path {
	return &framework.Path{
		Pattern: "datakey/{plaintext}/{name}",
		Fields: map[string]*framework.Field{
			"context":     {Type: framework.TypeString, Description: "Base64 context for derived keys."},
			"nonce":       {Type: framework.TypeString, Description: "Base64 nonce (legacy convergent keys)."},
			"bits":        {Type: framework.TypeInt, Default: 256, Description: "Data key size: 128, 256 or 512 bits."},
			"key_version": {Type: framework.TypeInt, Description: "Version to encrypt with; 0 is the latest."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.datakeyHandler,
		},
		Synopsis: "Generate a data key, returned encrypted with a named key (and in plaintext when asked).",
	}
}

func (b *Backend) datakeyHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Kind       string `field:"plaintext"`
		Name       string `field:"name"`
		Context    string `field:"context"`
		Nonce      string `field:"nonce"`
		Bits       int    `field:"bits"`
		KeyVersion int    `field:"key_version"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Kind != "plaintext" && in.Kind != "wrapped" {
		return nil, logical.InvalidRequest("invalid path variable type: must be \"plaintext\" or \"wrapped\"")
	}
	switch in.Bits {
	case 128, 256, 512:
	default:
		return nil, logical.InvalidRequest("invalid bits value: must be 128, 256 or 512")
	}
	context, err := b64(in.Context, "context")
	if err != nil {
		return nil, err
	}
	nonce, err := b64(in.Nonce, "nonce")
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
	dk := randomBytes(in.Bits / 8)
	ct, ver, err := p.encrypt(in.KeyVersion, dk, context, nonce, nil)
	if err != nil {
		return nil, err
	}
	d := map[string]any{"ciphertext": ct, "key_version": ver}
	if in.Kind == "plaintext" {
		d["plaintext"] = base64.StdEncoding.EncodeToString(dk)
	}
	return &logical.Response{Data: d}, nil
}
