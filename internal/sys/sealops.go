package sys

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/seal"
)

// SealOperator runs the operations that need a quorum of key shares:
// rekey and root token generation.
type SealOperator interface {
	Rekey() *seal.Rekey
	GenerateRoot() *seal.GenerateRoot
	MintRootToken(ctx context.Context) (string, error)
}

// sealOpsPath reports whether path is one of the quorum endpoints.
func sealOpsPath(path string) bool {
	switch path {
	case "rekey/init", "rekey/update", "rekey/verify",
		"rekey-recovery-key/init", "rekey-recovery-key/update", "rekey-recovery-key/verify",
		"generate-root/attempt", "generate-root/update", "decode-token",
		"generate-root-token/attempt", "generate-root-token/update":
		return true
	}
	return false
}

// sealOps answers sys/rekey/*, sys/generate-root/* and sys/decode-token
// with Vault's bodies, which are not wrapped in "data".
func (b *Backend) sealOps(ctx context.Context, req *logical.Request, path string) (*logical.Response, error) {
	op := req.Operation
	// The bao CLI calls OpenBao's always-authenticated names for
	// generate-root (sudo, see SpecialPaths): the same operation, its body
	// under "data" as a logical response instead of at the top.
	if rest, ok := strings.CutPrefix(path, "generate-root-token/"); ok {
		resp, err := b.sealOps(ctx, req, "generate-root/"+rest)
		if err != nil || resp == nil || resp.Raw == nil {
			return resp, err
		}
		raw, err := json.Marshal(resp.Raw)
		if err != nil {
			return nil, err
		}
		var data map[string]any
		if err := json.Unmarshal(raw, &data); err != nil {
			return nil, err
		}
		return &logical.Response{Data: data}, nil
	}
	if rest, ok := strings.CutPrefix(path, "rekey-recovery-key/"); ok {
		if !b.core.Rekey().Recovery(ctx) {
			return nil, logical.InvalidRequest("recovery keys exist only with auto-unseal; this server uses a Shamir seal: use sys/rekey")
		}
		path = "rekey/" + rest
	} else if strings.HasPrefix(path, "rekey/") && b.core.Rekey().Recovery(ctx) {
		return nil, logical.InvalidRequest("with auto-unseal the key shares are recovery keys: rekey them at sys/rekey-recovery-key")
	}
	switch {
	case path == "rekey/init" && op == logical.ReadOperation:
		st, err := b.core.Rekey().Status(ctx)
		return raw(st, err)
	case path == "rekey/init" && op == logical.UpdateOperation:
		return b.rekeyInit(ctx, req)
	case path == "rekey/init" && op == logical.DeleteOperation:
		nonce, _ := req.Data["nonce"].(string)
		return nil, b.core.Rekey().Cancel(nonce)
	case path == "rekey/update" && op == logical.UpdateOperation:
		key, nonce, err := shareAndNonce(req)
		if err != nil {
			return nil, err
		}
		res, err := b.core.Rekey().Update(ctx, key, nonce)
		if err != nil || res != nil {
			if res != nil {
				res.Keys, res.KeysBase64 = seal.EncodeShares(res.Shares)
			}
			return raw(res, err)
		}
		st, err := b.core.Rekey().Status(ctx)
		return raw(st, err)
	case path == "rekey/verify" && op == logical.ReadOperation:
		st, err := b.core.Rekey().VerifyStatus()
		return raw(st, err)
	case path == "rekey/verify" && op == logical.DeleteOperation:
		st, err := b.core.Rekey().VerifyCancel()
		return raw(st, err)
	case path == "rekey/verify" && op == logical.UpdateOperation:
		key, nonce, err := shareAndNonce(req)
		if err != nil {
			return nil, err
		}
		st, done, err := b.core.Rekey().VerifyUpdate(ctx, key, nonce)
		if err != nil || !done {
			return raw(st, err)
		}
		return raw(map[string]any{"nonce": st.Nonce, "complete": true}, nil)
	case path == "generate-root/attempt" && op == logical.ReadOperation:
		st, err := b.core.GenerateRoot().Status(ctx)
		return raw(st, err)
	case path == "generate-root/attempt" && op == logical.UpdateOperation:
		if k, _ := req.Data["pgp_key"].(string); k != "" {
			return nil, seal.ErrPGPNotSupported
		}
		otp, _ := req.Data["otp"].(string)
		st, err := b.core.GenerateRoot().Init(ctx, otp)
		return raw(st, err)
	case path == "generate-root/attempt" && op == logical.DeleteOperation:
		return nil, b.core.GenerateRoot().Cancel()
	case path == "generate-root/update" && op == logical.UpdateOperation:
		key, nonce, err := shareAndNonce(req)
		if err != nil {
			return nil, err
		}
		st, err := b.core.GenerateRoot().Update(ctx, key, nonce, b.core.MintRootToken)
		return raw(st, err)
	case path == "decode-token" && op == logical.UpdateOperation:
		enc, _ := req.Data["encoded_token"].(string)
		otp, _ := req.Data["otp"].(string)
		if enc == "" || otp == "" {
			return nil, logical.InvalidRequest("encoded_token and otp are both required")
		}
		tok, err := seal.DecodeToken(enc, otp)
		if err != nil {
			return nil, logical.InvalidRequest("%s", err.Error())
		}
		return &logical.Response{Data: map[string]any{"token": tok}}, nil
	}
	return nil, logical.ErrUnsupportedOperation
}

func (b *Backend) rekeyInit(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	var cfg seal.Config
	for name, dst := range map[string]*int{"secret_shares": &cfg.SecretShares, "secret_threshold": &cfg.SecretThreshold} {
		v, ok := req.Data[name]
		if !ok {
			continue
		}
		n, err := number(v)
		if err != nil || n != float64(int(n)) {
			return nil, logical.InvalidRequest("invalid value for %s: want a whole number", name)
		}
		*dst = int(n)
	}
	if keys, ok := req.Data["pgp_keys"].([]any); ok && len(keys) > 0 {
		return nil, seal.ErrPGPNotSupported
	}
	if on, _ := parse.Bool(req.Data["backup"]); on {
		return nil, seal.ErrBackupNotSupported
	}
	verify := false
	if v, ok := req.Data["require_verification"]; ok {
		var err error
		if verify, err = parse.Bool(v); err != nil {
			return nil, logical.InvalidRequest("invalid value for require_verification: %s", err.Error())
		}
	}
	st, err := b.core.Rekey().Init(ctx, cfg, verify)
	return raw(st, err)
}

// shareAndNonce reads an update's key share (hex or base64) and nonce.
func shareAndNonce(req *logical.Request) ([]byte, string, error) {
	s, _ := req.Data["key"].(string)
	nonce, _ := req.Data["nonce"].(string)
	if s == "" {
		return nil, "", logical.InvalidRequest("'key' must be specified in request body as JSON")
	}
	key, err := seal.ParseShare(s)
	if err != nil {
		return nil, "", logical.InvalidRequest("'key' must be a valid hex or base64 string")
	}
	return key, nonce, nil
}

// raw returns v as a body of its own, not wrapped in "data".
func raw(v any, err error) (*logical.Response, error) {
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: v}, nil
}
