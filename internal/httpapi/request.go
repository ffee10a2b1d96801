package httpapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
)

// logicalPath returns the request's path below /v1/, refusing anything that
// could make the path the ACL checks differ from the path that is routed:
// dot segments, empty segments, encoded slashes or dots, control bytes.
func logicalPath(r *http.Request) (string, error) {
	raw := r.URL.EscapedPath()
	if !strings.HasPrefix(raw, "/v1/") {
		return "", &logical.Error{Kind: logical.KindNotFound, Messages: []string{"not found"}}
	}
	raw = raw[len("/v1/"):]
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%2e") || strings.Contains(lower, "%5c") {
		return "", badRequest("invalid request path: encoded '/', '.' or '\\' is not allowed")
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return "", badRequest("invalid request path: bad escape")
	}
	if !utf8.ValidString(path) {
		return "", badRequest("invalid request path: not UTF-8")
	}
	for i := 0; i < len(path); i++ {
		if path[i] < 0x20 || path[i] == 0x7f || path[i] == '\\' {
			return "", badRequest("invalid request path: control character or backslash")
		}
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, s := range segs {
		if s == "." || s == ".." || (s == "" && path != "") {
			return "", badRequest("invalid request path: empty, '.' or '..' segment")
		}
	}
	return path, nil
}

// operation maps the HTTP method (and ?list=true) to a logical operation.
func operation(r *http.Request) (logical.Operation, bool) {
	switch r.Method {
	case http.MethodGet:
		if v := r.URL.Query().Get("list"); v != "" {
			if b, _ := parse.Bool(v); b {
				return logical.ListOperation, true
			}
		}
		return logical.ReadOperation, true
	case "LIST":
		return logical.ListOperation, true
	case http.MethodPost, http.MethodPut:
		return logical.UpdateOperation, true
	case http.MethodPatch:
		return logical.PatchOperation, true
	case http.MethodDelete:
		return logical.DeleteOperation, true
	}
	return "", false
}

func (a *api) newRequest(w http.ResponseWriter, r *http.Request, path string) (*logical.Request, error) {
	op, ok := operation(r)
	if !ok {
		return nil, logical.ErrUnsupportedOperation
	}
	if op == logical.ListOperation && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	req := &logical.Request{
		Operation:   op,
		Path:        path,
		ClientToken: clientToken(r),
		Headers:     r.Header,
		Connection:  &logical.Connection{RemoteAddr: r.RemoteAddr, TLS: r.TLS},
	}
	if v := r.Header.Get("X-Vault-Wrap-TTL"); v != "" {
		ttl, err := parse.Duration(v)
		if err != nil || ttl <= 0 || ttl > maxWrapTTL {
			return nil, badRequest("invalid wrap TTL: " + strconv.Quote(v))
		}
		req.WrapTTL = ttl
	}
	if op == logical.PatchOperation {
		if err := patchContentType(r); err != nil {
			return nil, err
		}
	}
	switch op {
	case logical.UpdateOperation, logical.PatchOperation:
		data, err := a.decodeBody(w, r)
		if err != nil {
			return nil, err
		}
		req.Data = data
	default:
		// Reads, lists and deletes carry their parameters in the query.
		q := r.URL.Query()
		delete(q, "list")
		req.Query = q
		if len(q) > 0 {
			req.Data = make(map[string]any, len(q))
			for k, v := range q {
				if len(v) == 1 {
					req.Data[k] = v[0]
				} else {
					req.Data[k] = v
				}
			}
		}
	}
	return req, nil
}

// maxWrapTTL bounds a requested wrapping TTL.
const maxWrapTTL = 100 * 365 * 24 * time.Hour

// patchContentType checks that a PATCH is a JSON merge patch (RFC 7396),
// the only kind Vault accepts: 400 for a malformed Content-Type, 415 for
// any other type.
func patchContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return badRequest("invalid Content-Type: " + strconv.Quote(ct))
	}
	if mt != "application/merge-patch+json" {
		return &logical.Error{Kind: logical.KindUnsupportedMediaType, Messages: []string{
			"PATCH requires Content-Type of application/merge-patch+json, provided " + mt}}
	}
	return nil
}
