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
