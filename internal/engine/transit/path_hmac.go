package transit

import (
	"context"
	"crypto/hmac"
	"encoding/base64"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func hmacFields() map[string]*framework.Field {
	return batchFields(map[string]*framework.Field{
		"input":       {Type: framework.TypeString, Description: "Base64 input."},
		"key_version": {Type: framework.TypeInt, Description: "Version to use; 0 is the latest."},
		"algorithm":   {Type: framework.TypeString, Default: "sha2-256", Description: "sha2-224/256/384/512 or sha3-224/256/384/512."},
		"reference":   {Type: framework.TypeString, Description: "Echoed back in the batch result."},
	})
}

func (b *Backend) pathHMAC() *framework.Path {
	return &framework.Path{
		Pattern:    "hmac/{name}",
		Fields:     hmacFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.hmacHandler},
		Synopsis:   "HMAC base64 input with a named key.",
	}
}

func (b *Backend) pathHMACAlgorithm() *framework.Path {
	return &framework.Path{
		Pattern:    "hmac/{name}/{urlalgorithm}",
		Fields:     hmacFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.hmacHandler},
		Synopsis:   "HMAC with the algorithm in the path.",
	}
}

func (b *Backend) hmacHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name        string             `field:"name"`
		URLAlg      string             `field:"urlalgorithm"`
		Input       *string            `field:"input"`
		KeyVersion  int                `field:"key_version"`
		Algorithm   string             `field:"algorithm"`
		Batch       []framework.Object `field:"batch_input"`
		PartialCode int                `field:"partial_failure_response_code"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.URLAlg != "" {
		in.Algorithm = in.URLAlg
	}
	batch, single, err := singleOrBatch(in.Batch, in.Input, "input", "missing input for HMAC",
		map[string]any{"key_version": in.KeyVersion})
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
	return runBatch(batch, single, in.PartialCode, func(it batchItem) (hmacResult, error) {
		mac, err := hmacItem(p, it, in.Algorithm)
		return hmacResult{HMAC: mac}, err
	})
}

func hmacItem(p *policy, it batchItem, alg string) (string, error) {
	input, err := itemBytes(it, "input")
	if err != nil {
		return "", err
	}
	ver, err := it.int("key_version")
	if err != nil {
		return "", err
	}
	return p.hmac(ver, input, alg)
}

// hmac computes Vault's "vault:v<n>:<base64>" HMAC of input.
func (p *policy) hmac(n int, input []byte, alg string) (string, error) {
	h, err := hashByName(alg, false)
	if err != nil {
		return "", err
	}
	n, err = p.encryptionVersion(n)
	if err != nil {
		return "", err
	}
	m := hmac.New(h.New, p.hmacKey(p.Versions[n]))
	m.Write(input)
	return versioned(n, m.Sum(nil)), nil
}

// verifyHMAC checks an HMAC written by hmac, in constant time.
func (p *policy) verifyHMAC(mac string, input []byte, alg string) (bool, error) {
	h, err := hashByName(alg, false)
	if err != nil {
		return false, err
	}
	n, payload, err := splitVersioned(mac, "hmac")
	if err != nil {
		return false, err
	}
	v, err := p.decryptionVersion(n)
	if err != nil {
		return false, err
	}
	want, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return false, logical.InvalidRequest("invalid hmac: could not decode base64")
	}
	m := hmac.New(h.New, p.hmacKey(v))
	m.Write(input)
	return hmac.Equal(m.Sum(nil), want), nil
}
