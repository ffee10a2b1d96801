package pki

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// role is the set of rules issue/ and sign/ apply. Field names and
// defaults are Vault's.
type role struct {
	TTL                       time.Duration `json:"ttl"`
	MaxTTL                    time.Duration `json:"max_ttl"`
	AllowLocalhost            bool          `json:"allow_localhost"`
	AllowedDomains            []string      `json:"allowed_domains"`
	AllowBareDomains          bool          `json:"allow_bare_domains"`
	AllowSubdomains           bool          `json:"allow_subdomains"`
	AllowGlobDomains          bool          `json:"allow_glob_domains"`
	AllowWildcardCertificates bool          `json:"allow_wildcard_certificates"`
	AllowAnyName              bool          `json:"allow_any_name"`
	EnforceHostnames          bool          `json:"enforce_hostnames"`
	AllowIPSANs               bool          `json:"allow_ip_sans"`
	AllowedURISANs            []string      `json:"allowed_uri_sans"`
	ServerFlag                bool          `json:"server_flag"`
	ClientFlag                bool          `json:"client_flag"`
	CodeSigningFlag           bool          `json:"code_signing_flag"`
	EmailProtectionFlag       bool          `json:"email_protection_flag"`
	KeyType                   string        `json:"key_type"`
	KeyBits                   int           `json:"key_bits"`
	SignatureBits             int           `json:"signature_bits"`
	UsePSS                    bool          `json:"use_pss"`
	KeyUsage                  []string      `json:"key_usage"`
	ExtKeyUsage               []string      `json:"ext_key_usage"`
	OU                        []string      `json:"ou"`
	Organization              []string      `json:"organization"`
	Country                   []string      `json:"country"`
	Locality                  []string      `json:"locality"`
	Province                  []string      `json:"province"`
	StreetAddress             []string      `json:"street_address"`
	PostalCode                []string      `json:"postal_code"`
	UseCSRCommonName          bool          `json:"use_csr_common_name"`
	UseCSRSANs                bool          `json:"use_csr_sans"`
	RequireCN                 bool          `json:"require_cn"`
	NoStore                   bool          `json:"no_store"`
	GenerateLease             bool          `json:"generate_lease"`
	NotBeforeDuration         time.Duration `json:"not_before_duration"`
	IssuerRef                 string        `json:"issuer_ref"`
}

// roleFields declares every role parameter with Vault's default.
func roleFields() map[string]*framework.Field {
	str := func(def any, d string) *framework.Field {
		return &framework.Field{Type: framework.TypeString, Default: def, Description: d}
	}
	boolean := func(def bool, d string) *framework.Field {
		return &framework.Field{Type: framework.TypeBool, Default: def, Description: d}
	}
	list := func(d string) *framework.Field {
		return &framework.Field{Type: framework.TypeStringSlice, Description: d}
	}
	return map[string]*framework.Field{
		"ttl":                         {Type: framework.TypeDuration, Description: "Default lifetime of issued certificates; the mount's default TTL if unset."},
		"max_ttl":                     {Type: framework.TypeDuration, Description: "Longest lifetime; the mount's max TTL if unset."},
		"allow_localhost":             boolean(true, "Allow localhost and localdomain."),
		"allowed_domains":             list("Domains names may be issued for (see allow_bare_domains, allow_subdomains, allow_glob_domains)."),
		"allow_bare_domains":          boolean(false, "Allow the allowed domains themselves."),
		"allow_subdomains":            boolean(false, "Allow subdomains of the allowed domains."),
		"allow_glob_domains":          boolean(false, "Treat allowed domains as globs (\"*\")."),
		"allow_wildcard_certificates": boolean(true, "Allow wildcard names like *.example.com."),
		"allow_any_name":              boolean(false, "Allow any name."),
		"enforce_hostnames":           boolean(true, "Names must be valid host names."),
		"allow_ip_sans":               boolean(true, "Allow IP subject alternative names."),
		"allowed_uri_sans":            list("URI SANs allowed (globs)."),
		"server_flag":                 boolean(true, "Mark certificates for server use."),
		"client_flag":                 boolean(true, "Mark certificates for client use."),
		"code_signing_flag":           boolean(false, "Mark certificates for code signing."),
		"email_protection_flag":       boolean(false, "Mark certificates for email protection."),
		"key_type":                    str("rsa", "rsa, ec, ed25519, or any (sign/ only)."),
		"key_bits":                    {Type: framework.TypeInt, Default: 0, Description: "Key size; 0 picks 2048 (rsa) or 256 (ec)."},
		"signature_bits":              {Type: framework.TypeInt, Default: 0, Description: "Hash size of the issuer's signature; 0 picks one."},
		"use_pss":                     boolean(false, "RSA-PSS signatures from RSA issuers."),
		"key_usage":                   {Type: framework.TypeStringSlice, Default: []any{"DigitalSignature", "KeyAgreement", "KeyEncipherment"}, Description: "x509 key usages."},
		"ext_key_usage":               list("Extra extended key usages."),
		"ou":                          list("Subject OU."),
		"organization":                list("Subject O."),
		"country":                     list("Subject C."),
		"locality":                    list("Subject L."),
		"province":                    list("Subject ST."),
		"street_address":              list("Subject street."),
		"postal_code":                 list("Subject postal code."),
		"use_csr_common_name":         boolean(true, "sign/: take the CSR's common name when none is given."),
		"use_csr_sans":                boolean(true, "sign/: take the CSR's SANs when none are given."),
		"require_cn":                  boolean(true, "A common name is required."),
		"no_store":                    boolean(false, "Do not store issued certificates (they cannot be revoked by serial)."),
		"generate_lease":              boolean(false, "Attach a lease to issued certificates; revoking it revokes them."),
		"not_before_duration":         {Type: framework.TypeDuration, Default: "30s", Description: "Back-date NotBefore by this much."},
		"issuer_ref":                  str("default", "Issuer that signs this role's certificates."),
	}
}

func (b *Backend) rolePaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "roles/{name}",
			Fields:  roleFields(),
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readRole,
				logical.CreateOperation: b.writeRole,
				logical.UpdateOperation: b.writeRole,
				logical.DeleteOperation: b.deleteRole,
			},
			ExistenceCheck: func(ctx context.Context, req *framework.Request) (bool, error) {
				r, err := b.role(ctx, req, req.Param("name"))
				return r != nil, err
			},
			Synopsis: "Manage the roles certificates are issued under.",
		},
		{
			Pattern:    "roles",
			Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listRoles},
			Synopsis:   "List roles.",
		},
	}
}

type roleIn struct {
	Name                      string         `field:"name"`
	TTL                       time.Duration  `field:"ttl"`
	MaxTTL                    time.Duration  `field:"max_ttl"`
	AllowLocalhost            bool           `field:"allow_localhost"`
	AllowedDomains            []string       `field:"allowed_domains"`
	AllowBareDomains          bool           `field:"allow_bare_domains"`
	AllowSubdomains           bool           `field:"allow_subdomains"`
	AllowGlobDomains          bool           `field:"allow_glob_domains"`
	AllowWildcardCertificates bool           `field:"allow_wildcard_certificates"`
	AllowAnyName              bool           `field:"allow_any_name"`
	EnforceHostnames          bool           `field:"enforce_hostnames"`
	AllowIPSANs               bool           `field:"allow_ip_sans"`
	AllowedURISANs            []string       `field:"allowed_uri_sans"`
	ServerFlag                bool           `field:"server_flag"`
	ClientFlag                bool           `field:"client_flag"`
	CodeSigningFlag           bool           `field:"code_signing_flag"`
	EmailProtectionFlag       bool           `field:"email_protection_flag"`
	KeyType                   string         `field:"key_type"`
	KeyBits                   int            `field:"key_bits"`
	SignatureBits             int            `field:"signature_bits"`
	UsePSS                    bool           `field:"use_pss"`
	KeyUsage                  []string       `field:"key_usage"`
	ExtKeyUsage               []string       `field:"ext_key_usage"`
	OU                        []string       `field:"ou"`
	Organization              []string       `field:"organization"`
	Country                   []string       `field:"country"`
	Locality                  []string       `field:"locality"`
	Province                  []string       `field:"province"`
	StreetAddress             []string       `field:"street_address"`
	PostalCode                []string       `field:"postal_code"`
	UseCSRCommonName          bool           `field:"use_csr_common_name"`
	UseCSRSANs                bool           `field:"use_csr_sans"`
	RequireCN                 bool           `field:"require_cn"`
	NoStore                   bool           `field:"no_store"`
	GenerateLease             bool           `field:"generate_lease"`
	NotBeforeDuration         *time.Duration `field:"not_before_duration"`
	IssuerRef                 string         `field:"issuer_ref"`
}

func (b *Backend) writeRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in roleIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Name == "" || len(in.Name) > 256 {
		return nil, logical.InvalidRequest("invalid role name")
	}
	r := &role{
		TTL: in.TTL, MaxTTL: in.MaxTTL, AllowLocalhost: in.AllowLocalhost, AllowedDomains: nonNil(in.AllowedDomains),
		AllowBareDomains: in.AllowBareDomains, AllowSubdomains: in.AllowSubdomains, AllowGlobDomains: in.AllowGlobDomains,
		AllowWildcardCertificates: in.AllowWildcardCertificates, AllowAnyName: in.AllowAnyName, EnforceHostnames: in.EnforceHostnames,
		AllowIPSANs: in.AllowIPSANs, AllowedURISANs: nonNil(in.AllowedURISANs), ServerFlag: in.ServerFlag, ClientFlag: in.ClientFlag,
		CodeSigningFlag: in.CodeSigningFlag, EmailProtectionFlag: in.EmailProtectionFlag, KeyType: in.KeyType, KeyBits: in.KeyBits,
		SignatureBits: in.SignatureBits, UsePSS: in.UsePSS, KeyUsage: nonNil(in.KeyUsage), ExtKeyUsage: nonNil(in.ExtKeyUsage),
		OU: nonNil(in.OU), Organization: nonNil(in.Organization), Country: nonNil(in.Country), Locality: nonNil(in.Locality),
		Province: nonNil(in.Province), StreetAddress: nonNil(in.StreetAddress), PostalCode: nonNil(in.PostalCode),
		UseCSRCommonName: in.UseCSRCommonName, UseCSRSANs: in.UseCSRSANs, RequireCN: in.RequireCN, NoStore: in.NoStore,
		GenerateLease: in.GenerateLease, NotBeforeDuration: *in.NotBeforeDuration, IssuerRef: in.IssuerRef,
	}
	if r.KeyType != "any" {
		spec, err := keySpec{r.KeyType, r.KeyBits}.normalize()
		if err != nil {
			return nil, err
		}
		r.KeyBits = spec.Bits
	}
	if r.MaxTTL > 0 && r.TTL > r.MaxTTL {
		return nil, logical.InvalidRequest("\"ttl\" value must be less than \"max_ttl\" value")
	}
	if _, err := keyUsages(r.KeyUsage); err != nil {
		return nil, err
	}
	if _, err := extKeyUsages(r.ExtKeyUsage); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, rolePrefix+in.Name, r); err != nil {
		return nil, err
	}
	b.roles.Delete(in.Name)
	return &logical.Response{Data: r.data()}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// role loads a role through the cache; nil when there is none.
func (b *Backend) role(ctx context.Context, req *framework.Request, name string) (*role, error) {
	if r, ok := b.roles.Load(name); ok {
		return r.(*role), nil
	}
	var r role
	ok, err := getJSON(ctx, req.Storage, rolePrefix+name, &r)
	if err != nil || !ok {
		return nil, err
	}
	b.roles.Store(name, &r)
	return &r, nil
}

func (r *role) data() map[string]any {
	raw, _ := json.Marshal(r)
	var d map[string]any
	_ = json.Unmarshal(raw, &d)
	d["ttl"] = int64(r.TTL / time.Second)
	d["max_ttl"] = int64(r.MaxTTL / time.Second)
	d["not_before_duration"] = int64(r.NotBeforeDuration / time.Second)
	return d
}

func (b *Backend) readRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	r, err := b.role(ctx, req, req.Param("name"))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: r.data()}, nil
}

func (b *Backend) deleteRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	if err := req.Storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, err
	}
	b.roles.Delete(name)
	return nil, nil
}

func (b *Backend) listRoles(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	names, err := listNames(ctx, req.Storage, rolePrefix)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}
