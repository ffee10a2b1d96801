package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tresorhq/tresor/internal/cors"
)

// hstsValue is sent on every TLS response: browsers then refuse plain HTTP
// to this host for a year.
const hstsValue = "max-age=31536000; includeSubDomains"

// setDefaultHeaders sets the headers every response carries.
func setDefaultHeaders(h http.Header, r *http.Request) {
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", hstsValue)
	}
}

// applyCORS applies the cross-origin policy to r. Without a policy, or
// for a request without an Origin (every non-browser client), it does
// nothing. It reports whether it answered r itself: a refused origin
// (403), a preflight for a method the API does not take (405), or a
// preflight it approved (204).
func (a *api) applyCORS(w http.ResponseWriter, r *http.Request) bool {
	if a.cors == nil {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	p := a.cors()
	if p == nil {
		return false
	}
	if !p.AllowsOrigin(origin) {
		writeErrors(w, http.StatusForbidden, []string{"origin not allowed"})
		return true
	}
	preflight := r.Method == http.MethodOptions
	if preflight && !cors.AllowsMethod(r.Header.Get("Access-Control-Request-Method")) {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return true
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if !preflight {
		return false
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(cors.Methods, ","))
	h.Set("Access-Control-Allow-Headers", strings.Join(p.AllowedHeaders, ","))
	h.Set("Access-Control-Max-Age", "300")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// customHeaderWriter adds the listener's custom_response_headers once the
// status is known: those for "default", then the status class ("4xx"),
// then the exact code, each overriding the one before.
type customHeaderWriter struct {
	http.ResponseWriter
	byStatus map[string]map[string]string
	wrote    bool
}

func (w *customHeaderWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		h := w.Header()
		c := strconv.Itoa(code)
		for _, key := range [...]string{"default", c[:1] + "xx", c} {
			for name, v := range w.byStatus[key] {
				h.Set(name, v)
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *customHeaderWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *customHeaderWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
