package transit

import (
	"context"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func signFields() map[string]*framework.Field {
	return batchFields(map[string]*framework.Field{
		"input":                {Type: framework.TypeString, Description: "Base64 input to sign or verify."},
		"key_version":          {Type: framework.TypeInt, Description: "Version to sign with; 0 is the latest."},
		"hash_algorithm":       {Type: framework.TypeString, Description: "Hash of the input: sha2-256 (default), sha1, sha2-224/384/512, sha3-*, or none."},
		"algorithm":            {Type: framework.TypeString, Description: "Deprecated name of hash_algorithm (and the HMAC algorithm in verify)."},
		"context":              {Type: framework.TypeString, Description: "Base64 context for derived Ed25519 keys."},
		"prehashed":            {Type: framework.TypeBool, Description: "The input is already a digest."},
		"signature_algorithm":  {Type: framework.TypeString, Description: "RSA padding: pss (default) or pkcs1v15."},
		"marshaling_algorithm": {Type: framework.TypeString, Default: "asn1", Description: "ECDSA signature form: asn1 or jws."},
		"salt_length":          {Type: framework.TypeString, Default: "auto", Description: "PSS salt length: auto, hash or bytes."},
		"reference":            {Type: framework.TypeString, Description: "Echoed back in the batch result."},
		"signature":            {Type: framework.TypeString, Description: "Signature to verify."},
		"hmac":                 {Type: framework.TypeString, Description: "HMAC to verify."},
	})
}

func (b *Backend) signPath(pattern string, h framework.Handler, synopsis string) *framework.Path {
	return &framework.Path{
		Pattern:    pattern,
		Fields:     signFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: h},
		Synopsis:   synopsis,
	}
}

func (b *Backend) pathSign() *framework.Path {
	return b.signPath("sign/{name}", b.signHandler, "Sign base64 input with a named asymmetric key.")
}

func (b *Backend) pathSignAlgorithm() *framework.Path {
	return b.signPath("sign/{name}/{urlalgorithm}", b.signHandler, "Sign with the hash algorithm in the path.")
}

func (b *Backend) pathVerify() *framework.Path {
	return b.signPath("verify/{name}", b.verifyHandler, "Verify a signature or an HMAC.")
}

func (b *Backend) pathVerifyAlgorithm() *framework.Path {
	return b.signPath("verify/{name}/{urlalgorithm}", b.verifyHandler, "Verify with the algorithm in the path.")
}

type signIn struct {
	Name        string             `field:"name"`
	URLAlg      string             `field:"urlalgorithm"`
	Input       *string            `field:"input"`
	KeyVersion  int                `field:"key_version"`
	HashAlg     string             `field:"hash_algorithm"`
	Algorithm   string             `field:"algorithm"`
	Context     string             `field:"context"`
	Prehashed   bool               `field:"prehashed"`
	SigAlg      string             `field:"signature_algorithm"`
	Marshal     string             `field:"marshaling_algorithm"`
	SaltLength  string             `field:"salt_length"`
	Signature   string             `field:"signature"`
	HMAC        string             `field:"hmac"`
	Batch       []framework.Object `field:"batch_input"`
	PartialCode int                `field:"partial_failure_response_code"`
}

// hashName is the algorithm a request names: in its path, hash_algorithm
// or the deprecated algorithm.
func (in *signIn) hashName() string {
	switch {
	case in.URLAlg != "":
		return in.URLAlg
	case in.HashAlg != "":
		return in.HashAlg
	}
	return in.Algorithm
}

func (b *Backend) signHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in signIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	batch, single, err := singleOrBatch(in.Batch, in.Input, "input", "missing input to sign",
		map[string]any{"context": in.Context, "key_version": in.KeyVersion})
	if err != nil {
		return nil, err
	}
	p, err := b.key(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, logical.InvalidRequest("signing key not found")
	}
	return runBatch(batch, single, in.PartialCode, func(it batchItem) (signResult, error) {
		sig, ver, err := signItem(p, &in, it)
		return signResult{Signature: sig, KeyVersion: ver}, err
	})
}

func signItem(p *policy, in *signIn, it batchItem) (string, int, error) {
	input, err := itemBytes(it, "input")
	if err != nil {
		return "", 0, err
	}
	context, err := itemBytes(it, "context")
	if err != nil {
		return "", 0, err
	}
	ver, err := it.int("key_version")
	if err != nil {
		return "", 0, err
	}
	o, err := parseSignOpts(in.hashName(), in.Prehashed, in.SigAlg, in.Marshal, in.SaltLength, context)
	if err != nil {
		return "", 0, err
	}
	return p.sign(ver, input, o)
}

func (b *Backend) verifyHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in signIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	batch, single, err := singleOrBatch(in.Batch, in.Input, "input", "missing input to verify",
		map[string]any{"context": in.Context, "signature": in.Signature, "hmac": in.HMAC})
	if err != nil {
		return nil, err
	}
	p, err := b.key(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, logical.InvalidRequest("signature verification key not found")
	}
	return runBatch(batch, single, in.PartialCode, func(it batchItem) (verifyResult, error) {
		ok, err := verifyItem(p, &in, it)
		return verifyResult{Valid: ok}, err
	})
}

func verifyItem(p *policy, in *signIn, it batchItem) (bool, error) {
	input, err := itemBytes(it, "input")
	if err != nil {
		return false, err
	}
	sig, err := it.str("signature")
	if err != nil {
		return false, err
	}
	mac, err := it.str("hmac")
	if err != nil {
		return false, err
	}
	switch {
	case sig != "" && mac != "":
		return false, logical.InvalidRequest("provide one of 'signature' or 'hmac', not both")
	case mac != "":
		alg := in.hashName()
		if alg == "" {
			alg = "sha2-256"
		}
		return p.verifyHMAC(mac, input, alg)
	case sig == "":
		return false, logical.InvalidRequest("missing signature or hmac to verify")
	}
	context, err := itemBytes(it, "context")
	if err != nil {
		return false, err
	}
	o, err := parseSignOpts(in.hashName(), in.Prehashed, in.SigAlg, in.Marshal, in.SaltLength, context)
	if err != nil {
		return false, err
	}
	return p.verify(sig, input, o)
}
