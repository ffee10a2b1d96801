package transit

import (
	"net/http"
	"strconv"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/jsonstr"
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

// appendJSON closes an entry: its error, if any, and its reference.
func (m *batchMeta) appendJSON(b []byte) []byte {
	b = appendJSONString(append(appendStringMember(b, "error", m.Error), `"reference":`...), m.Reference)
	return append(b, '}')
}

// batchEntry is a typed batch result: struct entries encode without the
// per-item maps and key sorting that dominated a 100-item batch.
type batchEntry interface {
	meta() *batchMeta
	// fields is the response data of a single (non-batch) request.
	fields() map[string]any
	// appendJSON appends the entry as encoding/json writes the struct.
	appendJSON(b []byte) []byte
}

// resultList is a response's batch_results. It writes its own JSON, the
// same bytes encoding/json would write for a []R, without reflection: the
// HTTP layer appends it straight into the response buffer (AppendJSON),
// and everything else that encodes a response (audit, wrapping, tests)
// goes through MarshalJSON.
type resultList[R any, P interface {
	*R
	batchEntry
}] []R

// AppendJSON appends the results' JSON to b.
func (rs resultList[R, P]) AppendJSON(b []byte) []byte {
	if rs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = P(&rs[i]).appendJSON(b)
	}
	return append(b, ']')
}

// MarshalJSON implements json.Marshaler.
func (rs resultList[R, P]) MarshalJSON() ([]byte, error) { return rs.AppendJSON(nil), nil }

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML-safe escaping included).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }

// appendJSONBytes is appendJSONString for text held in bytes (a batch's
// references and ciphertexts), converted to a string only if it needs
// escaping.
func appendJSONBytes(b []byte, text []byte) []byte {
	if !jsonPlain(text) {
		return appendJSONString(b, string(text))
	}
	b = append(b, '"')
	b = append(b, text...)
	return append(b, '"')
}

// jsonPlain reports whether text is written in JSON as it is (checked by
// table lookup).
func jsonPlain[T string | []byte](text T) bool {
	for i := 0; i < len(text); i++ {
		if jsonEscaped[text[i]] {
			return false
		}
	}
	return true
}

// jsonEscaped marks the bytes jsonPlain does not let through.
var jsonEscaped = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	}
	return t
}()

// appendStringMember appends `"name":"v",` unless v is empty (a field
// tagged omitempty).
func appendStringMember(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = appendJSONString(append(append(append(b, '"'), name...), `":`...), v)
	return append(b, ',')
}

// appendIntMember appends `"name":v,` unless v is 0 (omitempty).
func appendIntMember(b []byte, name string, v int) []byte {
	if v == 0 {
		return b
	}
	b = strconv.AppendInt(append(append(append(b, '"'), name...), `":`...), int64(v), 10)
	return append(b, ',')
}

type encryptResult struct {
	Ciphertext string `json:"ciphertext,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	batchMeta
}

func (r *encryptResult) appendJSON(b []byte) []byte {
	b = appendStringMember(append(b, '{'), "ciphertext", r.Ciphertext)
	return r.batchMeta.appendJSON(appendIntMember(b, "key_version", r.KeyVersion))
}

func (r *encryptResult) fields() map[string]any {
	return map[string]any{"ciphertext": r.Ciphertext, "key_version": r.KeyVersion}
}

type decryptResult struct {
	Plaintext string `json:"plaintext"`
	batchMeta
}

func (r *decryptResult) fields() map[string]any { return map[string]any{"plaintext": r.Plaintext} }

func (r *decryptResult) appendJSON(b []byte) []byte {
	b = appendJSONString(append(b, `{"plaintext":`...), r.Plaintext)
	return r.batchMeta.appendJSON(append(b, ','))
}

type hmacResult struct {
	HMAC string `json:"hmac,omitempty"`
	batchMeta
}

func (r *hmacResult) fields() map[string]any { return map[string]any{"hmac": r.HMAC} }

func (r *hmacResult) appendJSON(b []byte) []byte {
	return r.batchMeta.appendJSON(appendStringMember(append(b, '{'), "hmac", r.HMAC))
}

type signResult struct {
	Signature  string `json:"signature,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	batchMeta
}

func (r *signResult) fields() map[string]any {
	return map[string]any{"signature": r.Signature, "key_version": r.KeyVersion}
}

func (r *signResult) appendJSON(b []byte) []byte {
	b = appendStringMember(append(b, '{'), "signature", r.Signature)
	return r.batchMeta.appendJSON(appendIntMember(b, "key_version", r.KeyVersion))
}

type verifyResult struct {
	Valid bool `json:"valid"`
	batchMeta
}

func (r *verifyResult) fields() map[string]any { return map[string]any{"valid": r.Valid} }

func (r *verifyResult) appendJSON(b []byte) []byte {
	b = strconv.AppendBool(append(b, `{"valid":`...), r.Valid)
	return r.batchMeta.appendJSON(append(b, ','))
}

// runBatch applies do to every item. A single request answers with its one
// result's fields or fails with its error; a batch answers 200 when every
// item succeeded, otherwise 400 (500 when only internal failures happened)
// with the results in the body, or the client's partial_failure_response_code
// when some items succeeded.
func runBatch[R any, P interface {
	*R
	batchEntry
}](items []framework.Object, single bool, partialCode int, do func(batchItem) (R, error)) (*logical.Response, error) {
	if single {
		r, err := do(batchItem{Object: items[0]})
		if err != nil {
			return nil, singleError(err)
		}
		return &logical.Response{Data: P(&r).fields()}, nil
	}
	results := make([]R, len(items))
	var outcome batchOutcome
	// Each raw item's members are indexed once, for all the fields its
	// operation reads, in one index reused from item to item.
	var ix framework.Members
	for i, raw := range items {
		it := indexItem(raw, &ix)
		// Results are filled in place: a local R whose address went to
		// a method of P would escape, one allocation per item.
		var err error
		results[i], err = do(it)
		if err != nil {
			var zero R
			results[i] = zero
		}
		m := P(&results[i]).meta()
		if err != nil {
			m.Error, m.internal = errText(err)
		}
		outcome.add(err == nil, m.internal)
		m.Reference, _ = it.str("reference")
	}
	return outcome.response(resultList[R, P](results), partialCode), nil
}

// indexItem is a batch item read through ix, which it indexes, when raw.
func indexItem(raw framework.Object, ix *framework.Members) batchItem {
	it := batchItem{Object: raw}
	if raw.IsRaw() {
		ix.Reset(raw)
		it.ix = ix
	}
	return it
}

// batchOutcome sums up a batch's items for its status code.
type batchOutcome struct{ userErr, internalErr, success bool }

// add counts an item: it succeeded, or failed internally or not.
func (o *batchOutcome) add(ok, internal bool) {
	switch {
	case ok:
		o.success = true
	case internal:
		o.internalErr = true
	default:
		o.userErr = true
	}
}

// response is a batch's answer: 200 when every item succeeded, otherwise
// 400 (500 when only internal failures happened), or the client's
// partial_failure_response_code when some items succeeded.
func (o *batchOutcome) response(results any, partialCode int) *logical.Response {
	resp := &logical.Response{Data: map[string]any{"batch_results": results}}
	switch {
	case o.userErr:
		resp.StatusCode = http.StatusBadRequest
	case o.internalErr:
		resp.StatusCode = http.StatusInternalServerError
	}
	if resp.StatusCode != 0 && o.success && partialCode != 0 {
		if partialCode < 1 || partialCode > 599 {
			resp.Warnings = append(resp.Warnings, "invalid HTTP response code override from partial_failure_response_code, reverting to HTTP 400")
		} else {
			resp.StatusCode = partialCode
		}
	}
	return resp
}
