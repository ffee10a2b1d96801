package transit

import (
	"context"
	"slices"

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
	Name        string             `field:"name"`
	Plaintext   *string            `field:"plaintext"`
	Context     string             `field:"context"`
	Nonce       string             `field:"nonce"`
	KeyVersion  int                `field:"key_version"`
	Reference   string             `field:"reference"`
	AAD         string             `field:"associated_data"`
	Type        string             `field:"type"`
	Convergent  bool               `field:"convergent_encryption"`
	Batch       []framework.Object `field:"batch_input"`
	PartialCode int                `field:"partial_failure_response_code"`
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
		batch = []framework.Object{framework.ObjectOf(map[string]any{"plaintext": *in.Plaintext, "context": in.Context, "nonce": in.Nonce, "key_version": in.KeyVersion, "associated_data": in.AAD})}
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
		first, _ := batchItem{Object: batch[0]}.str("context")
		p, err = b.ensureKey(ctx, req.Storage, createIn{Name: in.Name, Type: in.Type, Derived: first != "", Convergent: in.Convergent})
		if err != nil {
			return nil, err
		}
	}

	sc := encryptScratch{nonces: nonces{left: len(batch)}}
	if !single {
		return sc.batch(p, batch, in.PartialCode), nil
	}
	return runBatch(batch, single, in.PartialCode, sc.result(p, len(batch)))
}

// result is runBatch's function for encrypting n items into sc.
func (sc *encryptScratch) result(p *policy, n int) func(batchItem) (encryptResult, error) {
	return func(it batchItem) (encryptResult, error) {
		start := len(sc.text)
		ver, err := sc.encrypt(p, it, n)
		sc.nonces.next()
		if err != nil {
			sc.text = sc.text[:start]
			return encryptResult{}, err
		}
		return encryptResult{KeyVersion: ver, Ciphertext: string(sc.text[start:])}, nil
	}
}

// batch encrypts every item and writes batch_results as it goes: each
// item's entry, the same JSON runBatch's resultList of encryptResult
// writes, is appended to one buffer, the ciphertext sealed straight into
// its place. No result structs and no separate ciphertext buffer: a
// 100-item batch leaves one buffer of its response's size, and the
// base64 inputs and the sealed bytes reuse scratch buffers.
func (sc *encryptScratch) batch(p *policy, items []framework.Object, partialCode int) *logical.Response {
	var outcome batchOutcome
	var ix framework.Members
	out := append(make([]byte, 0, 256), '[')
	for i, raw := range items {
		it := indexItem(raw, &ix)
		if i > 0 {
			out = append(out, ',')
		}
		entry := len(out)
		out = append(out, `{"ciphertext":"`...)
		text := len(out)
		sc.text = out
		ver, err := sc.encrypt(p, it, 1)
		sc.nonces.next()
		out = sc.text
		if err == nil && !jsonPlain(out[text:]) {
			// A ciphertext's text never needs escaping; if one did,
			// it would be written as encoding/json writes it.
			t := string(out[text:])
			out = appendJSONString(out[:text-1], t)
			out = append(out, ',')
		} else if err == nil {
			out = append(out, `",`...)
		}
		var internal bool
		if err != nil {
			var msg string
			msg, internal = errText(err)
			out = appendStringMember(append(out[:entry], '{'), "error", msg)
		} else {
			out = appendIntMember(out, "key_version", ver)
		}
		outcome.add(err == nil, internal)
		out = append(out, `"reference":`...)
		switch kind, ref := it.field("reference", nil); kind {
		case framework.String, framework.Number:
			out = appendJSONBytes(out, ref)
		default:
			out = append(out, `""`...)
		}
		out = append(out, '}')
		if i == 0 && len(items) > 1 {
			// Room for the rest, if they are about the size of the first.
			out = slices.Grow(out, (len(out)+8)*(len(items)-1)+1)
		}
	}
	out = append(out, ']')
	return outcome.response(renderedResults(out), partialCode)
}

// renderedResults is batch_results already written as JSON.
type renderedResults []byte

// AppendJSON appends the results' JSON to b.
func (r renderedResults) AppendJSON(b []byte) []byte { return append(b, r...) }

// MarshalJSON implements json.Marshaler.
func (r renderedResults) MarshalJSON() ([]byte, error) { return r, nil }

// encryptScratch is the buffers a batch encrypt reuses across its items.
type encryptScratch struct {
	text                                   []byte // "vault:v<n>:<base64>" of every item so far
	plaintext, context, nonce, aad, sealed []byte
	nonces                                 nonces // the batch's random nonces
}

// encrypt seals one item and appends its ciphertext text to sc.text.
func (sc *encryptScratch) encrypt(p *policy, it batchItem, items int) (int, error) {
	var err error
	var plaintext, context, nonce, aad []byte
	if plaintext, err = it.b64("plaintext", sc.plaintext); err != nil {
		return 0, err
	}
	if context, err = it.b64("context", sc.context); err != nil {
		return 0, err
	}
	if nonce, err = it.b64("nonce", sc.nonce); err != nil {
		return 0, err
	}
	ver, err := it.int("key_version")
	if err != nil {
		return 0, err
	}
	if aad, err = it.b64("associated_data", sc.aad); err != nil {
		return 0, err
	}
	sc.plaintext, sc.context, sc.nonce, sc.aad = keep(sc.plaintext, plaintext), keep(sc.context, context), keep(sc.nonce, nonce), keep(sc.aad, aad)
	first := sc.text == nil
	if first {
		sc.text = make([]byte, 0, 128)
	}
	sc.text, sc.sealed, ver, err = p.appendEncrypt(sc.text, sc.sealed, &sc.nonces, ver, plaintext, context, nonce, aad)
	if err != nil {
		return 0, err
	}
	if first && items > 1 {
		// Room for the rest, if they are about the size of the first.
		sc.text = slices.Grow(sc.text, (len(sc.text)+8)*(items-1))
	}
	return ver, nil
}

// keep returns the larger of a scratch buffer and what was just decoded
// into it, emptied, for the next item.
func keep(scratch, used []byte) []byte {
	if cap(used) > cap(scratch) {
		return used[:0]
	}
	return scratch
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
func itemBytes(it batchItem, k string) ([]byte, error) { return it.b64(k, nil) }
