package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

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
	raw, err := io.ReadAll(body)
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
	if err := checkJSONShape(raw); err != nil {
		return nil, badRequest("error parsing JSON: " + err.Error())
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

// checkJSONShape walks the tokens of raw and enforces depth and size bounds,
// and that the top level is an object.
func checkJSONShape(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errors.New("malformed JSON")
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("the request body must be a JSON object")
			}
			first = false
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			top.n++
			// In an object, keys and values alternate: count pairs.
			if top.object && top.n > 2*maxJSONEntries {
				return fmt.Errorf("an object has more than %d entries", maxJSONEntries)
			}
			if !top.object && top.n > maxJSONElements {
				return fmt.Errorf("an array has more than %d elements", maxJSONElements)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, frame{object: d == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					// The closing delimiter was counted as an element of the
					// parent when the container opened; undo the double count.
					stack[len(stack)-1].n--
				}
			}
		}
	}
	return nil
}
