package transit

import (
	"net/http"

	"github.com/tresorhq/tresor/internal/logical"
)

// batchMeta is what every entry of batch_results carries besides its
// operation's output, with Vault's JSON names: the item's error, if any,
// and the caller's reference echoed back (always present, "" when none).
type batchMeta struct {
	Error     string `json:"error,omitempty"`
	Reference string `json:"reference"`
	internal  bool
}

func (m *batchMeta) meta() *batchMeta { return m }

// batchEntry is a typed batch result: struct entries encode without the
// per-item maps and key sorting that dominated a 100-item batch.
type batchEntry interface {
	meta() *batchMeta
	// fields is the response data of a single (non-batch) request.
	fields() map[string]any
}

type encryptResult struct {
	Ciphertext string `json:"ciphertext,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	batchMeta
}

func (r *encryptResult) fields() map[string]any {
	return map[string]any{"ciphertext": r.Ciphertext, "key_version": r.KeyVersion}
}

type decryptResult struct {
	Plaintext string `json:"plaintext"`
	batchMeta
}

func (r *decryptResult) fields() map[string]any { return map[string]any{"plaintext": r.Plaintext} }

type hmacResult struct {
	HMAC string `json:"hmac,omitempty"`
	batchMeta
}

func (r *hmacResult) fields() map[string]any { return map[string]any{"hmac": r.HMAC} }

type signResult struct {
	Signature  string `json:"signature,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	batchMeta
}

func (r *signResult) fields() map[string]any {
	return map[string]any{"signature": r.Signature, "key_version": r.KeyVersion}
}

type verifyResult struct {
	Valid bool `json:"valid"`
	batchMeta
}

func (r *verifyResult) fields() map[string]any { return map[string]any{"valid": r.Valid} }

// runBatch applies do to every item. A single request answers with its one
// result's fields or fails with its error; a batch answers 200 when every
// item succeeded, otherwise 400 (500 when only internal failures happened)
// with the results in the body, or the client's partial_failure_response_code
// when some items succeeded.
func runBatch[R any, P interface {
	*R
	batchEntry
}](items []map[string]any, single bool, partialCode int, do func(batchItem) (R, error)) (*logical.Response, error) {
	if single {
		r, err := do(batchItem(items[0]))
		if err != nil {
			return nil, singleError(err)
		}
		return &logical.Response{Data: P(&r).fields()}, nil
	}
	results := make([]R, len(items))
	var userErr, internalErr, success bool
	for i, raw := range items {
		it := batchItem(raw)
		r, err := do(it)
		if err != nil {
			var zero R
			r = zero
		}
		m := P(&r).meta()
		switch {
		case err == nil:
			success = true
		default:
			m.Error, m.internal = errText(err)
			if m.internal {
				internalErr = true
			} else {
				userErr = true
			}
		}
		m.Reference, _ = it.str("reference")
		results[i] = r
	}
	resp := &logical.Response{Data: map[string]any{"batch_results": results}}
	switch {
	case userErr:
		resp.StatusCode = http.StatusBadRequest
	case internalErr:
		resp.StatusCode = http.StatusInternalServerError
	}
	if resp.StatusCode != 0 && success && partialCode != 0 {
		if partialCode < 1 || partialCode > 599 {
			resp.Warnings = append(resp.Warnings, "invalid HTTP response code override from partial_failure_response_code, reverting to HTTP 400")
		} else {
			resp.StatusCode = partialCode
		}
	}
	return resp, nil
}
