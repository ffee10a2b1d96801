package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// caFields are the parameters of CA generation and signing.
func caFields() map[string]*framework.Field {
	list := func(d string) *framework.Field {
		return &framework.Field{Type: framework.TypeStringSlice, Description: d}
	}
	return subjectFields(map[string]*framework.Field{
		"key_type":              {Type: framework.TypeString, Default: "rsa", Description: "rsa, ec or ed25519."},
		"key_bits":              {Type: framework.TypeInt, Description: "Key size; 0 picks 2048 (rsa) or 256 (ec)."},
		"key_name":              {Type: framework.TypeString, Description: "Name for a generated key."},
		"key_ref":               {Type: framework.TypeString, Default: "default", Description: "Key to use with the existing type."},
		"issuer_name":           {Type: framework.TypeString, Description: "Name for the new issuer."},
		"max_path_length":       {Type: framework.TypeInt, Default: -1, Description: "Path length constraint; -1 for none."},
		"permitted_dns_domains": list("Name constraints: permitted DNS domains."),
		"ou":                    list("Subject OU."),
		"organization":          list("Subject O."),
		"country":               list("Subject C."),
		"locality":              list("Subject L."),
		"province":              list("Subject ST."),
		"street_address":        list("Subject street."),
		"postal_code":           list("Subject postal code."),
		"signature_bits":        {Type: framework.TypeInt, Description: "Hash size of the signature."},
		"use_pss":               {Type: framework.TypeBool, Description: "RSA-PSS signatures."},
		"use_csr_values":        {Type: framework.TypeBool, Description: "sign-intermediate: take subject and SANs from the CSR."},
		"csr":                   {Type: framework.TypeString, Description: "PEM certificate signing request."},
		"managed_key_name":      {Type: framework.TypeString, Description: "Not supported."},
		"managed_key_id":        {Type: framework.TypeString, Description: "Not supported."},
		"add_basic_constraints": {Type: framework.TypeBool, Description: "intermediate/generate: add basic constraints to the CSR."},
	})
}

type caIn struct {
	KeyType             string   `field:"key_type"`
	KeyBits             int      `field:"key_bits"`
	KeyName             string   `field:"key_name"`
	KeyRef              string   `field:"key_ref"`
	IssuerName          string   `field:"issuer_name"`
	MaxPathLength       int      `field:"max_path_length"`
	PermittedDNSDomains []string `field:"permitted_dns_domains"`
	OU                  []string `field:"ou"`
	Organization        []string `field:"organization"`
	Country             []string `field:"country"`
	Locality            []string `field:"locality"`
	Province            []string `field:"province"`
	StreetAddress       []string `field:"street_address"`
	PostalCode          []string `field:"postal_code"`
	SignatureBits       int      `field:"signature_bits"`
	UsePSS              bool     `field:"use_pss"`
	UseCSRValues        bool     `field:"use_csr_values"`
	CSR                 string   `field:"csr"`
	SerialNumber        string   `field:"serial_number"`
	AddBasicConstraints bool     `field:"add_basic_constraints"`
	Kind                string   `field:"exported"`
	Ref                 string   `field:"ref"`
}

func (in *caIn) subject(cn string) pkix.Name {
	return pkix.Name{
		CommonName: cn, SerialNumber: in.SerialNumber, OrganizationalUnit: in.OU, Organization: in.Organization,
		Country: in.Country, Locality: in.Locality, Province: in.Province, StreetAddress: in.StreetAddress, PostalCode: in.PostalCode,
	}
}

func (b *Backend) rootPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern:    "root/generate/{exported}",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.generateRoot},
			Synopsis:   "Generate a self-signed root CA (internal, exported or existing key).",
		},
		{
			Pattern:    "issuers/generate/root/{exported}",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.generateRoot},
			Synopsis:   "Generate a self-signed root CA as a new issuer.",
		},
		{
			Pattern:    "root/sign-intermediate",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.signIntermediate},
			Synopsis:   "Sign an intermediate CA's CSR with the default issuer.",
		},
		{
			Pattern:    "issuer/{ref}/sign-intermediate",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.signIntermediate},
			Synopsis:   "Sign an intermediate CA's CSR with this issuer.",
		},
		{
			Pattern: "root/sign-self-issued",
			Fields: map[string]*framework.Field{
				"certificate": {Type: framework.TypeString, Description: "PEM self-issued CA certificate to sign."},
				"require_matching_certificate_algorithms": {Type: framework.TypeBool, Description: "Refuse a key type different from the issuer's."},
				"issuer_ref": {Type: framework.TypeString, Default: "default", Description: "Issuer to sign with."},
			},
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.signSelfIssued},
			Synopsis:   "Re-sign a self-issued CA certificate with the default issuer (cross-signing).",
		},
		{
			Pattern:    "root",
			Operations: map[logical.Operation]framework.Handler{logical.DeleteOperation: b.deleteRoot},
			Synopsis:   "Delete every issuer and key of the mount.",
		},
	}
}

// caKey returns the key a CA generation uses: a new one, or an existing
// one for the "existing" kind. fresh is true for a new key.
func (b *Backend) caKey(ctx context.Context, req *framework.Request, in *caIn) (crypto.Signer, *keyRecord, error) {
	switch in.Kind {
	case "internal", "exported":
	case "existing":
		st, err := b.loadState(ctx, req.Storage)
		if err != nil {
			return nil, nil, err
		}
		k, err := st.resolveKey(in.KeyRef)
		if err != nil {
			return nil, nil, err
		}
		return st.signers[k.ID], k, nil
	case "kms":
		return nil, nil, logical.InvalidRequest("managed keys are not supported")
	default:
		return nil, nil, logical.InvalidRequest("invalid type %q: must be internal, exported, existing or kms", in.Kind)
	}
	spec, err := keySpec{in.KeyType, in.KeyBits}.normalize()
	if err != nil {
		return nil, nil, err
	}
	if spec.Type == "any" {
		return nil, nil, logical.InvalidRequest("key_type any is not valid for a CA")
	}
	signer, err := spec.generate() // before any lock: RSA is slow
	if err != nil {
		return nil, nil, err
	}
	text, err := privateKeyPEM(signer, true)
	if err != nil {
		return nil, nil, err
	}
	return signer, &keyRecord{ID: newID(), Name: in.KeyName, Type: spec.Type, Bits: spec.Bits, PrivateKey: text}, nil
}

func (b *Backend) generateRoot(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in caIn
	var sin subjectIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&sin); err != nil {
		return nil, err
	}
	if sin.CommonName == "" {
		return nil, logical.InvalidRequest("the common_name field is required")
	}
	n, err := parseNames(&sin)
	if err != nil {
		return nil, err
	}
	signer, key, err := b.caKey(ctx, req, &in)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter, warnings, err := b.validity(&sin, b.defaultTTL, b.maxTTL, 30*time.Second, nil)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject: in.subject(n.cn), DNSNames: n.dns, EmailAddresses: n.emails, IPAddresses: n.ips, URIs: n.uris,
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		PermittedDNSDomains: in.PermittedDNSDomains,
	}
	setPathLen(tmpl, in.MaxPathLength)
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	cert, der, err := b.signCert(ctx, req.Storage, tmpl, signer.Public(), &issuer{cert: tmpl, signer: signer}, false, in.SignatureBits, in.UsePSS, st.urls)
	if err != nil {
		return nil, err
	}
	is, err := b.addIssuer(ctx, req.Storage, certPEM(der), key, in.IssuerName)
	if err != nil {
		return nil, err
	}
	if len(st.issuers) > 0 {
		warnings = append(warnings, "the mount already had an issuer; the new root is an additional issuer and the default issuer is unchanged")
	}
	var exported crypto.Signer
	if in.Kind == "exported" {
		exported = signer
	}
	d, err := certData(cert, der, nil, exported, &sin)
	if err != nil {
		return nil, err
	}
	d["issuing_ca"] = d["certificate"]
	d["issuer_id"], d["issuer_name"] = is.ID, is.Name
	d["key_id"], d["key_name"] = is.KeyID, key.Name
	return &logical.Response{Data: d, Warnings: warnings}, nil
}

// setPathLen applies max_path_length (-1: no constraint).
func setPathLen(tmpl *x509.Certificate, n int) {
	switch {
	case n < 0:
		tmpl.MaxPathLen = -1
	case n == 0:
		tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
	default:
		tmpl.MaxPathLen = n
	}
}

// addIssuer stores a new issuer (and its key, if new) and makes it the
// default when the mount has none.
func (b *Backend) addIssuer(ctx context.Context, s storage.Store, certText string, key *keyRecord, name string) (*issuerRecord, error) {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, s)
	if err != nil {
		return nil, err
	}
	if name != "" {
		if _, err := st.resolveIssuer(name); err == nil {
			return nil, logical.InvalidRequest("issuer name already in use")
		}
	}
	rec := &issuerRecord{ID: newID(), Name: name, Certificate: certText, LeafNotAfterBehavior: "err",
		Usage: "read-only,issuing-certificates,crl-signing,ocsp-signing"}
	err = s.Update(ctx, func(tx storage.Tx) error {
		if key != nil {
			rec.KeyID = key.ID
			if st.keys[key.ID] == nil {
				if err := putJSON(ctx, tx, keyPrefix+key.ID, key); err != nil {
					return err
				}
				if st.defaultKey == "" {
					if err := putJSON(ctx, tx, keysConfigKey, defaultRef{key.ID}); err != nil {
						return err
					}
				}
			}
		}
		if err := putJSON(ctx, tx, issuerPrefix+rec.ID, rec); err != nil {
			return err
		}
		if st.defaultIssuer == "" || st.issuers[st.defaultIssuer] == nil {
			return putJSON(ctx, tx, issuersConfigKey, defaultRef{rec.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

func (b *Backend) deleteRoot(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	for _, prefix := range []string{issuerPrefix, keyPrefix} {
		names, err := listNames(ctx, req.Storage, prefix)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := req.Storage.Delete(ctx, prefix+n); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range []string{issuersConfigKey, keysConfigKey} {
		if err := req.Storage.Delete(ctx, k); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// parseCSR reads and checks a PEM certificate signing request.
func parseCSR(text string) (*x509.CertificateRequest, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, logical.InvalidRequest("\"csr\" is empty")
	}
	der := pemBlock(text, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
	if der == nil {
		return nil, logical.InvalidRequest("csr contains no data")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, logical.InvalidRequest("certificate request could not be parsed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, logical.InvalidRequest("request signature invalid: %v", err)
	}
	return csr, nil
}

func (b *Backend) signIntermediate(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in caIn
	var sin subjectIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&sin); err != nil {
		return nil, err
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return nil, err
	}
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	ref := in.Ref
	if ref == "" {
		ref = sin.IssuerRef
	}
	is, err := st.resolveIssuer(ref)
	if err != nil {
		return nil, err
	}
	subj := in.subject(sin.CommonName)
	if in.UseCSRValues {
		subj = csr.Subject
		if sin.CommonName == "" {
			sin.CommonName = csr.Subject.CommonName
		}
	}
	if sin.CommonName == "" && subj.CommonName == "" {
		return nil, logical.InvalidRequest("the common_name field is required")
	}
	n, err := parseNames(&sin)
	if err != nil {
		return nil, err
	}
	if in.UseCSRValues {
		n.dns = append(n.dns, csr.DNSNames...)
		n.emails = append(n.emails, csr.EmailAddresses...)
		n.ips = append(n.ips, csr.IPAddresses...)
		n.uris = append(n.uris, csr.URIs...)
	}
	notBefore, notAfter, warnings, err := b.validity(&sin, b.defaultTTL, b.maxTTL, 30*time.Second, is)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject: subj, DNSNames: n.dns, EmailAddresses: n.emails, IPAddresses: n.ips, URIs: n.uris,
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		PermittedDNSDomains: in.PermittedDNSDomains,
	}
	setPathLen(tmpl, in.MaxPathLength)
	cert, der, err := b.signCert(ctx, req.Storage, tmpl, csr.PublicKey, is, false, in.SignatureBits, in.UsePSS, st.urls)
	if err != nil {
		return nil, err
	}
	d, err := certData(cert, der, is, nil, &sin)
	if err != nil {
		return nil, err
	}
	// The new intermediate heads its own chain.
	d["ca_chain"] = append([]string{d["certificate"].(string)}, d["ca_chain"].([]string)...)
	return &logical.Response{Data: d, Warnings: warnings}, nil
}

func (b *Backend) signSelfIssued(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Certificate string `field:"certificate"`
		Matching    bool   `field:"require_matching_certificate_algorithms"`
		IssuerRef   string `field:"issuer_ref"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	der := pemBlock(in.Certificate, "CERTIFICATE")
	if der == nil {
		return nil, logical.InvalidRequest("certificate contains no data")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, logical.InvalidRequest("certificate could not be parsed: %v", err)
	}
	if string(c.RawIssuer) != string(c.RawSubject) {
		return nil, logical.InvalidRequest("given certificate is not self-issued")
	}
	if !c.IsCA {
		return nil, logical.InvalidRequest("given certificate is not a CA certificate")
	}
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	is, err := st.resolveIssuer(in.IssuerRef)
	if err != nil {
		return nil, err
	}
	if is.signer == nil {
		return nil, logical.InvalidRequest("issuer has no private key in this mount")
	}
	if in.Matching && c.PublicKeyAlgorithm != is.cert.PublicKeyAlgorithm {
		return nil, logical.InvalidRequest("signing certificate's public key algorithm does not match the given certificate's")
	}
	tmpl := *c
	tmpl.AuthorityKeyId = nil
	tmpl.SignatureAlgorithm = 0
	out, err := x509.CreateCertificate(rand.Reader, &tmpl, is.cert, c.PublicKey, is.signer)
	if err != nil {
		return nil, logical.InvalidRequest("error signing self-issued certificate: %v", err)
	}
	return &logical.Response{Data: map[string]any{"certificate": strings.TrimSpace(certPEM(out)), "issuing_ca": strings.TrimSpace(is.Certificate)}}, nil
}
