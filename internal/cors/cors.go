// Package cors holds the server's cross-origin policy, as sys/config/cors
// sets it, and answers whether a browser page from some origin may call
// the API. Without a policy no Access-Control-* header is ever sent, so a
// page from another origin can read nothing.
package cors

import (
	"errors"
	"slices"
	"strings"
)

// Policy is an enabled cross-origin policy. The zero value allows nothing.
type Policy struct {
	// AllowedOrigins are the origins ("https://app.example.com") whose
	// pages may call the API, or the single entry "*" for any.
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedHeaders are the request headers a page may send: the
	// standard ones and those the operator added.
	AllowedHeaders []string `json:"allowed_headers"`
}

// standardHeaders are the request headers Vault's clients send, always
// allowed once CORS is enabled.
var standardHeaders = []string{
	"Content-Type",
	"Authorization",
	"X-Requested-With",
	"X-Vault-Token",
	"X-Vault-Wrap-Format",
	"X-Vault-Wrap-TTL",
	"X-Vault-Policy-Override",
	"X-Vault-MFA",
	"X-Vault-No-Request-Forwarding",
	"X-Vault-AWS-IAM-Server-ID",
}

// Methods are the methods a preflight may ask for.
var Methods = []string{"DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "LIST"}

// New validates origins and the extra headers and returns the policy.
func New(origins, extraHeaders []string) (*Policy, error) {
	var clean []string
	for _, o := range origins {
		if o = strings.TrimSpace(o); o != "" {
			clean = append(clean, o)
		}
	}
	switch {
	case len(clean) == 0:
		return nil, errors.New("at least one origin or the wildcard must be provided")
	case slices.Contains(clean, "*") && len(clean) > 1:
		return nil, errors.New("to allow all origins the '*' must be the only value for allowed_origins")
	}
	headers := slices.Clone(standardHeaders)
	for _, h := range extraHeaders {
		if h = strings.TrimSpace(h); h != "" && !slices.ContainsFunc(headers, func(s string) bool { return strings.EqualFold(s, h) }) {
			headers = append(headers, h)
		}
	}
	return &Policy{AllowedOrigins: clean, AllowedHeaders: headers}, nil
}

// AllowsOrigin reports whether a page from origin may call the API.
func (p *Policy) AllowsOrigin(origin string) bool {
	if p == nil || origin == "" {
		return false
	}
	return slices.Contains(p.AllowedOrigins, "*") || slices.Contains(p.AllowedOrigins, origin)
}

// AllowsMethod reports whether a preflight may ask for method.
func AllowsMethod(method string) bool { return slices.Contains(Methods, method) }
