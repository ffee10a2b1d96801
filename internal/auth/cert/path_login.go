package cert

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Login errors, with Vault's wording.
var (
	// ErrNoClientCert answers a login over a connection without a client
	// certificate.
	ErrNoClientCert = logical.InvalidRequest("client certificate must be supplied")
	// ErrInvalidCert answers a login whose certificate no role accepts.
	ErrInvalidCert = logical.InvalidRequest("invalid certificate or no client certificate supplied")
)

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.Field{
			"name": {Type: framework.TypeString, Description: "The certificate role to try; all of them when empty."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.login,
			logical.CreateOperation: b.login,
		},
		Synopsis: "Log in with the TLS client certificate of the connection.",
	}
}

func (b *Backend) login(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name string `field:"name"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if req.Connection == nil || req.Connection.TLS == nil || len(req.Connection.TLS.PeerCertificates) == 0 {
		return nil, ErrNoClientCert
	}
	chain := req.Connection.TLS.PeerCertificates

	names := []string{strings.ToLower(strings.TrimSpace(in.Name))}
	if names[0] == "" {
		var err error
		if names, err = req.Storage.List(ctx, certPrefix); err != nil {
			return nil, fmt.Errorf("list certificate roles: %w", err)
		}
	}
	now := b.now()
	for _, name := range names {
		c, err := loadCert(ctx, req.Storage, name)
		if err != nil {
			return nil, err
		}
		if c == nil || !c.trusts(chain, now) {
			continue
		}
		return &logical.Response{Auth: c.auth(chain[0])}, nil
	}
	return nil, ErrInvalidCert
}

// auth is the auth block of a login with leaf through role c.
func (c *certRole) auth(leaf *x509.Certificate) *logical.Auth {
	display := c.DisplayName
	if display == "" {
		display = c.Name
	}
	a := &logical.Auth{
		Metadata: map[string]string{
			"cert_name":        c.Name,
			"common_name":      leaf.Subject.CommonName,
			"serial_number":    leaf.SerialNumber.String(),
			"subject_key_id":   hexColons(leaf.SubjectKeyId),
			"authority_key_id": hexColons(leaf.AuthorityKeyId),
		},
		DisplayName: display,
		Alias:       leaf.Subject.CommonName,
		Renewable:   true,
	}
	c.Fields.FillAuth(a)
	return a
}

// hexColons formats key IDs as Vault does: "ab:cd:ef".
func hexColons(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}
