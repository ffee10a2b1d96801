package transit

import (
	"context"
	"encoding/base64"
	"encoding/hex"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func hashFields() map[string]*framework.Field {
	return map[string]*framework.Field{
		"input":     {Type: framework.TypeString, Description: "Base64 input to hash."},
		"algorithm": {Type: framework.TypeString, Default: "sha2-256", Description: "sha2-224/256/384/512 or sha3-224/256/384/512."},
		"format":    {Type: framework.TypeString, Default: "hex", Description: "Output encoding: hex or base64."},
	}
}

func (b *Backend) pathHash() *framework.Path {
	return &framework.Path{
		Pattern:    "hash",
		Fields:     hashFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.hashHandler},
		Synopsis:   "Hash base64 input.",
	}
}

func (b *Backend) pathHashAlgorithm() *framework.Path {
	return &framework.Path{
		Pattern:    "hash/{urlalgorithm}",
		Fields:     hashFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.hashHandler},
		Synopsis:   "Hash base64 input with the algorithm in the path.",
	}
}

func (b *Backend) hashHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Input     *string `field:"input"`
		Algorithm string  `field:"algorithm"`
		URLAlg    string  `field:"urlalgorithm"`
		Format    string  `field:"format"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Input == nil {
		return nil, logical.InvalidRequest("missing input to hash")
	}
	if in.URLAlg != "" {
		in.Algorithm = in.URLAlg
	}
	if in.Format != "hex" && in.Format != "base64" {
		return nil, logical.InvalidRequest("unsupported encoding format %s; must be \"hex\" or \"base64\"", in.Format)
	}
	input, err := base64.StdEncoding.DecodeString(*in.Input)
	if err != nil {
		return nil, logical.InvalidRequest("unable to decode input as base64")
	}
	h, err := hashByName(in.Algorithm, false)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(input)
	sum := hh.Sum(nil)
	out := hex.EncodeToString(sum)
	if in.Format == "base64" {
		out = base64.StdEncoding.EncodeToString(sum)
	}
	return &logical.Response{Data: map[string]any{"sum": out}}, nil
}
