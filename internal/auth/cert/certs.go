package cert

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// certPrefix is where certificate roles are stored, by name.
const certPrefix = "cert/"

// certRole is a stored certificate role.
type certRole struct {
	Name                       string   `json:"name"`
	Certificate                string   `json:"certificate"`
	DisplayName                string   `json:"display_name,omitempty"`
	AllowedNames               []string `json:"allowed_names,omitempty"`
	AllowedCommonNames         []string `json:"allowed_common_names,omitempty"`
	AllowedDNSSANs             []string `json:"allowed_dns_sans,omitempty"`
	AllowedEmailSANs           []string `json:"allowed_email_sans,omitempty"`
	AllowedURISANs             []string `json:"allowed_uri_sans,omitempty"`
	AllowedOrganizationalUnits []string `json:"allowed_organizational_units,omitempty"`
	tokenfields.Fields
}

func (b *Backend) pathCertsList() *framework.Path {
	return &framework.Path{
		Pattern:    "certs",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listCerts},
		Synopsis:   "List the certificate roles.",
	}
}

func (b *Backend) pathCert() *framework.Path {
	list := func(desc string) *framework.Field {
		return &framework.Field{Type: framework.TypeStringSlice, Description: desc}
	}
	return &framework.Path{
		Pattern: "certs/{name}",
		Fields: tokenfields.AddSchema(map[string]*framework.Field{
			"certificate":                  {Type: framework.TypeString, Description: "PEM certificates: CAs to chain to, or the client certificate itself."},
			"display_name":                 {Type: framework.TypeString, Description: "Display name of issued tokens; the role name by default."},
			"allowed_names":                list("Globs any of the common name, DNS, email SANs must match (legacy)."),
			"allowed_common_names":         list("Globs the common name must match."),
			"allowed_dns_sans":             list("Globs a DNS SAN must match."),
			"allowed_email_sans":           list("Globs an email SAN must match."),
			"allowed_uri_sans":             list("Globs a URI SAN must match."),
			"allowed_organizational_units": list("Globs an organizational unit must match."),
		}, "policies", "ttl", "max_ttl", "period", "bound_cidrs"),
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readCert,
			logical.CreateOperation: b.writeCert,
			logical.UpdateOperation: b.writeCert,
			logical.DeleteOperation: b.deleteCert,
		},
		ExistenceCheck: b.certExists,
		Synopsis:       "Manage a trusted certificate role.",
	}
}

func certName(req *framework.Request) (string, error) {
	name := strings.ToLower(strings.TrimSpace(req.Param("name")))
	if name == "" {
		return "", logical.InvalidRequest("missing name")
	}
	return name, nil
}

func loadCert(ctx context.Context, r storage.Reader, name string) (*certRole, error) {
	e, err := r.Get(ctx, certPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate role: %w", err)
	}
	c := new(certRole)
	if err := json.Unmarshal(e.Value, c); err != nil {
		return nil, fmt.Errorf("decode certificate role: %w", err)
	}
	return c, nil
}

func (b *Backend) certExists(ctx context.Context, req *framework.Request) (bool, error) {
	c, err := loadCert(ctx, req.Storage, strings.ToLower(strings.TrimSpace(req.Param("name"))))
	return c != nil, err
}

func (b *Backend) listCerts(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, certPrefix)
	if err != nil {
		return nil, fmt.Errorf("list certificate roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, logical.ErrNotFound
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) readCert(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := certName(req)
	if err != nil {
		return nil, err
	}
	c, err := loadCert(ctx, req.Storage, name)
	if err != nil || c == nil {
		return nil, err
	}
	data := c.Fields.Data()
	data["certificate"] = c.Certificate
	data["display_name"] = c.DisplayName
	data["allowed_names"] = nonNil(c.AllowedNames)
	data["allowed_common_names"] = nonNil(c.AllowedCommonNames)
	data["allowed_dns_sans"] = nonNil(c.AllowedDNSSANs)
	data["allowed_email_sans"] = nonNil(c.AllowedEmailSANs)
	data["allowed_uri_sans"] = nonNil(c.AllowedURISANs)
	data["allowed_organizational_units"] = nonNil(c.AllowedOrganizationalUnits)
	data["policies"] = data["token_policies"]
	return &logical.Response{Data: data}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type certIn struct {
	Certificate                *string   `field:"certificate"`
	DisplayName                *string   `field:"display_name"`
	AllowedNames               *[]string `field:"allowed_names"`
	AllowedCommonNames         *[]string `field:"allowed_common_names"`
	AllowedDNSSANs             *[]string `field:"allowed_dns_sans"`
	AllowedEmailSANs           *[]string `field:"allowed_email_sans"`
	AllowedURISANs             *[]string `field:"allowed_uri_sans"`
	AllowedOrganizationalUnits *[]string `field:"allowed_organizational_units"`
}

func (b *Backend) writeCert(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := certName(req)
	if err != nil {
		return nil, err
	}
	var in certIn
	var tok tokenfields.Input
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&tok); err != nil {
		return nil, err
	}
	if in.Certificate != nil {
		if _, err := parsePEM(*in.Certificate); err != nil {
			return nil, err
		}
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		c, err := loadCert(ctx, tx, name)
		if err != nil {
			return err
		}
		if c == nil {
			if in.Certificate == nil {
				return logical.InvalidRequest("missing certificate")
			}
			c = &certRole{Name: name}
		}
		setIf(&c.Certificate, in.Certificate)
		setIf(&c.DisplayName, in.DisplayName)
		setIf(&c.AllowedNames, in.AllowedNames)
		setIf(&c.AllowedCommonNames, in.AllowedCommonNames)
		setIf(&c.AllowedDNSSANs, in.AllowedDNSSANs)
		setIf(&c.AllowedEmailSANs, in.AllowedEmailSANs)
		setIf(&c.AllowedURISANs, in.AllowedURISANs)
		setIf(&c.AllowedOrganizationalUnits, in.AllowedOrganizationalUnits)
		if err := c.Fields.Apply(tok); err != nil {
			return err
		}
		v, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode certificate role: %w", err)
		}
		return tx.Put(ctx, &storage.Entry{Key: certPrefix + name, Value: v})
	})
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (b *Backend) deleteCert(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name, err := certName(req)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Delete(ctx, certPrefix+name); err != nil {
		return nil, fmt.Errorf("delete certificate role: %w", err)
	}
	return nil, nil
}

// parsePEM parses every certificate in a PEM bundle; a bundle without one
// is a client error.
func parsePEM(bundle string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(bundle)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, logical.InvalidRequest("failed to parse certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, logical.InvalidRequest("failed to parse certificate")
	}
	return certs, nil
}
