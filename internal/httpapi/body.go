package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tresorhq/tresor/internal/jsonscan"
	"github.com/tresorhq/tresor/internal/logical"
)

// Bounds on the shape of a JSON body, checked by a streaming pass before
// anything is decoded into maps, so that a hostile body costs at most its
// (size-limited) bytes.
const (
	maxJSONDepth    = 300
	maxJSONEntries  = 10000 // keys in one object
	maxJSONElements = 10000 // elements in one array
)

var errTooLarge = &logical.Error{Kind: logical.KindTooLarge, Messages: []string{"error parsing JSON: request body too large"}}

// decodeBody reads a JSON object body within the size limit. An empty body
// is an empty request.
func (a *api) decodeBody(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	raw, err := a.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return decodeJSONObject(raw)
}

func (a *api) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body := r.Body
	if a.maxBody > 0 {
		if r.ContentLength > a.maxBody {
			return nil, errTooLarge
		}
		body = http.MaxBytesReader(w, r.Body, a.maxBody)
	}
	var raw []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= 1<<20 {
		// The size is announced: read into a buffer of that size instead
		// of growing one. (Only up to 1 MiB: a larger one is grown as it
		// arrives, so an announcement alone does not make a large buffer.)
		raw = make([]byte, n, n+1)
		var got int
		got, err = io.ReadFull(body, raw)
		raw = raw[:got]
		if err == nil {
			// net/http stops at the announced length; check all the same,
			// reading into the spare byte.
			var m int
			m, err = body.Read(raw[n : n+1])
			raw = raw[:int(n)+m]
			if err == io.EOF {
				err = nil
			} else if err == nil {
				var rest []byte
				rest, err = io.ReadAll(body)
				raw = append(raw, rest...)
			}
		}
	} else {
		raw, err = io.ReadAll(body)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, badRequest("error reading request body")
	}
	return raw, nil
}

func decodeJSONObject(raw []byte) (map[string]any, error) {
	if emptyBody(raw) {
		return nil, nil
	}
	if err := checkJSON(raw); err != nil {
		return nil, badRequest("error parsing JSON: " + err.Error())
	}
	if bytes.Contains(raw, quotedBatchKey) {
		if data, ok := decodeBatchBody(raw); ok {
			return data, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, badRequest("error parsing JSON")
	}
	if dec.More() {
		return nil, badRequest("error parsing JSON: trailing data after the object")
	}
	return data, nil
}

// emptyBody reports whether raw stands for an empty object: nothing,
// blanks, or "null", which clients send for an empty body (the Go client
// does). Every endpoint reads bodies by this one rule.
func emptyBody(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// checkJSONShape enforces depth and size bounds on raw, and that the top
// level is an object, in one pass over the bytes that allocates nothing
// but the stack of open containers (at most maxJSONDepth deep): a batch
// of a thousand items must not cost a token allocation each before the
// handler even runs. Malformed JSON is refused after the bounds, by
// json.Valid.
func checkJSONShape(raw []byte) error {
	type frame struct {
		object bool
		commas int
	}
	var stack []frame
	first := true
	inString, escaped := false, false
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if first {
			if c != '{' {
				if !json.Valid(raw) {
					return errors.New("malformed JSON")
				}
				return errors.New("the request body must be a JSON object")
			}
			first = false
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
			}
			stack = append(stack, frame{object: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) == 0 {
				break
			}
			// n commas separate n+1 entries.
			top := &stack[len(stack)-1]
			top.commas++
			if top.object && top.commas >= maxJSONEntries {
				return fmt.Errorf("an object has more than %d entries", maxJSONEntries)
			}
			if !top.object && top.commas >= maxJSONElements {
				return fmt.Errorf("an array has more than %d elements", maxJSONElements)
			}
		}
	}
	if !json.Valid(raw) {
		return errors.New("malformed JSON")
	}
	return nil
}

// batchKey is Vault's batch convention (transit's encrypt, decrypt,
// rewrap, sign, verify, hmac): the one field whose size grows with the
// request. Its items are handed to the engine undecoded.
const batchKey = "batch_input"

var quotedBatchKey = []byte(`"` + batchKey + `"`)

// decodeBatchBody decodes a body holding batch_input, already checked by
// checkJSONShape, as decodeJSONObject would, except that a non-empty
// batch_input of objects becomes a []json.RawMessage of the items' text
// (slices of raw, no copies) instead of a []any of maps: decoding a
// thousand items into maps costs thousands of allocations before the
// engine reads a field. The engine's framework reads raw items field by
// field (framework.Object). Other members decode as usual. ok is false if
// the body is not one this walk understands; the caller then decodes it
// the usual way.
func decodeBatchBody(raw []byte) (map[string]any, bool) {
	data := make(map[string]any)
	ok := jsonscan.Members(raw, func(k, value []byte) bool {
		key, ok := jsonKey(k)
		if !ok {
			return false
		}
		if key == batchKey {
			if items, _ := rawObjects(value); items != nil {
				data[key] = items
				return true
			}
		}
		dec := json.NewDecoder(bytes.NewReader(value))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return false
		}
		data[key] = v
		return true
	})
	if !ok {
		return nil, false
	}
	return data, true
}

// jsonKey decodes a member name: printable ASCII without escapes directly,
// anything else by encoding/json.
func jsonKey(tok []byte) (string, bool) {
	body := tok[1 : len(tok)-1]
	for _, c := range body {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			var key string
			if err := json.Unmarshal(tok, &key); err != nil {
				return "", false
			}
			return key, true
		}
	}
	return string(body), true
}

// rawObjects splits a JSON array whose elements are all objects into the
// elements' text; ok is false for anything else, and for an empty array.
// The list is sized by the array's opening braces (memchr speed), at least
// one per element and, as checkJSON bounds arrays, never above the element
// limit, so one walk fills it without growing.
func rawObjects(value []byte) ([]json.RawMessage, bool) {
	if len(value) == 0 || value[0] != '[' {
		return nil, false
	}
	i := jsonscan.SkipSpace(value, 1)
	if i < len(value) && value[i] == ']' {
		return nil, false
	}
	items := make([]json.RawMessage, 0, min(bytes.Count(value, []byte{'{'}), maxJSONElements))
	for {
		if i >= len(value) || value[i] != '{' {
			return nil, false
		}
		end, ok := jsonscan.SkipValue(value, i)
		if !ok {
			return nil, false
		}
		items = append(items, json.RawMessage(value[i:end:end]))
		i = jsonscan.SkipSpace(value, end)
		if i >= len(value) {
			return nil, false
		}
		if value[i] == ',' {
			i = jsonscan.SkipSpace(value, i+1)
			continue
		}
		if value[i] != ']' {
			return nil, false
		}
		return items, true
	}
}
