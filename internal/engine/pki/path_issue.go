package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) issuePaths() []*framework.Path {
	csr := map[string]*framework.Field{
		"csr":           {Type: framework.TypeString, Description: "PEM certificate signing request."},
		"key_usage":     {Type: framework.TypeStringSlice, Description: "sign-verbatim: key usages."},
		"ext_key_usage": {Type: framework.TypeStringSlice, Description: "sign-verbatim: extended key usages."},
	}
	p := func(pattern string, fields map[string]*framework.Field, h framework.Handler, syn string) *framework.Path {
		return &framework.Path{Pattern: pattern, Fields: subjectFields(fields), Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: h}, Synopsis: syn}
	}
	return []*framework.Path{
		p("issue/{role}", nil, b.issue, "Issue a certificate and its private key under a role."),
		p("issuer/{ref}/issue/{role}", nil, b.issue, "Issue a certificate with a given issuer."),
		p("sign/{role}", csr, b.sign, "Sign a CSR under a role."),
		p("issuer/{ref}/sign/{role}", csr, b.sign, "Sign a CSR with a given issuer."),
		p("sign-verbatim", csr, b.signVerbatim, "Sign a CSR as it is, outside any role's naming rules."),
		p("sign-verbatim/{role}", csr, b.signVerbatim, "Sign a CSR as it is, with a role's TTLs and usages."),
		p("issuer/{ref}/sign-verbatim", csr, b.signVerbatim, "Sign a CSR as it is with a given issuer."),
		p("issuer/{ref}/sign-verbatim/{role}", csr, b.signVerbatim, "Sign a CSR as it is with a given issuer and role."),
	}
}

// issueContext is what issuing needs: the role, the issuer and settings.
type issueContext struct {
	role *role
	is   *issuer
	st   *caState
}

func (b *Backend) issueContext(ctx context.Context, req *framework.Request, roleName string, in *subjectIn, needRole bool) (*issueContext, error) {
	var r *role
	if roleName != "" || needRole {
		var err error
		r, err = b.role(ctx, req, roleName)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, logical.InvalidRequest("unknown role: %s", roleName)
		}
	}
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	ref := req.Param("ref")
	if ref == "" {
		ref = in.IssuerRef
	}
	if ref == "" && r != nil {
		ref = r.IssuerRef
	}
	is, err := st.resolveIssuer(ref)
	if err != nil {
		return nil, err
	}
	if is.signer == nil {
		return nil, logical.InvalidRequest("issuer %s has no private key in this mount and cannot issue", is.ID)
	}
	return &issueContext{role: r, is: is, st: st}, nil
}

// ttls are the default and max TTL under a role (the mount's without).
func (b *Backend) ttls(r *role) (time.Duration, time.Duration) {
	def, maxTTL := b.defaultTTL, b.maxTTL
	if r != nil {
		if r.MaxTTL > 0 {
			maxTTL = r.MaxTTL
		}
		if r.TTL > 0 {
			def = r.TTL
		}
	}
	if def > maxTTL {
		def = maxTTL
	}
	return def, maxTTL
}

func (b *Backend) issue(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in subjectIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := noOtherSANs(req); err != nil {
		return nil, err
	}
	ic, err := b.issueContext(ctx, req, req.Param("role"), &in, true)
	if err != nil {
		return nil, err
	}
	r := ic.role
	if r.KeyType == "any" {
		return nil, logical.InvalidRequest("role key type \"any\" not allowed for issuing certificates, only signing (key_type)")
	}
	n, err := parseNames(&in)
	if err != nil {
		return nil, err
	}
	if err := r.check(n); err != nil {
		return nil, err
	}
	def, maxTTL := b.ttls(r)
	notBefore, notAfter, warnings, err := b.validity(&in, def, maxTTL, r.NotBeforeDuration, ic.is)
	if err != nil {
		return nil, err
	}
	// Key generation takes no lock: concurrent issues proceed in parallel.
	key, err := b.keyPool.get(keySpec{r.KeyType, r.KeyBits})
	if err != nil {
		return nil, err
	}
	tmpl, err := leafTemplate(r, n, key.Public(), notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	cert, der, err := b.signCert(ctx, req.Storage, tmpl, key.Public(), ic.is, r.NoStore, r.SignatureBits, r.UsePSS, ic.st.urls)
	if err != nil {
		return nil, err
	}
	d, err := certData(cert, der, ic.is, key, &in)
	if err != nil {
		return nil, err
	}
	return b.leafResponse(r, cert, d, warnings), nil
}

// leafResponse attaches a lease when the role asks for one.
func (b *Backend) leafResponse(r *role, cert *x509.Certificate, d map[string]any, warnings []string) *logical.Response {
	resp := &logical.Response{Data: d, Warnings: warnings}
	if r != nil && r.GenerateLease {
		resp.Secret = &logical.Secret{
			TTL:          time.Until(cert.NotAfter),
			InternalData: map[string]any{"serial_number": serialText(cert.SerialNumber)},
		}
	}
	return resp
}

// noOtherSANs refuses other_sans and user_ids, which Tresor does not
// implement, rather than silently ignoring them.
func noOtherSANs(req *framework.Request) error {
	var in struct {
		Other []string `field:"other_sans"`
		Users []string `field:"user_ids"`
	}
	if err := req.Decode(&in); err != nil {
		return err
	}
	if len(in.Other) > 0 || len(in.Users) > 0 {
		return logical.InvalidRequest("other_sans and user_ids are not supported")
	}
	return nil
}

// checkCSRKey applies the role's key_type and key_bits to a CSR's key.
func (r *role) checkCSRKey(pub crypto.PublicKey) error {
	spec, err := specOf(pub)
	if err != nil {
		return logical.InvalidRequest("unsupported public key in CSR")
	}
	if r.KeyType != "any" && spec.Type != r.KeyType {
		return logical.InvalidRequest("role requires keys of type %s (key_type)", r.KeyType)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		min := 2048
		if r.KeyType == "rsa" && r.KeyBits > 0 {
			min = r.KeyBits
		}
		if k.N.BitLen() < min {
			return logical.InvalidRequest("role requires a minimum of %d-bit RSA keys (key_bits)", min)
		}
	case *ecdsa.PublicKey:
		if r.KeyType == "ec" && r.KeyBits > 0 && k.Curve.Params().BitSize != r.KeyBits {
			return logical.InvalidRequest("role requires EC keys of %d bits (key_bits)", r.KeyBits)
		}
	case ed25519.PublicKey:
	}
	return nil
}

func (b *Backend) sign(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in subjectIn
	var cin struct {
		CSR string `field:"csr"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&cin); err != nil {
		return nil, err
	}
	if err := noOtherSANs(req); err != nil {
		return nil, err
	}
	csr, err := parseCSR(cin.CSR)
	if err != nil {
		return nil, err
	}
	ic, err := b.issueContext(ctx, req, req.Param("role"), &in, true)
	if err != nil {
		return nil, err
	}
	r := ic.role
	if err := r.checkCSRKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if in.CommonName == "" && r.UseCSRCommonName {
		in.CommonName = csr.Subject.CommonName
	}
	sansGiven := len(in.AltNames)+len(in.IPSANs)+len(in.URISANs) > 0
	n, err := parseNames(&in)
	if err != nil {
		return nil, err
	}
	if r.UseCSRSANs && !sansGiven {
		for _, d := range csr.DNSNames {
			n.dns = appendUnique(n.dns, d)
		}
		for _, e := range csr.EmailAddresses {
			n.emails = appendUnique(n.emails, e)
		}
		n.ips = append(n.ips, csr.IPAddresses...)
		n.uris = append(n.uris, csr.URIs...)
	}
	if err := r.check(n); err != nil {
		return nil, err
	}
	def, maxTTL := b.ttls(r)
	notBefore, notAfter, warnings, err := b.validity(&in, def, maxTTL, r.NotBeforeDuration, ic.is)
	if err != nil {
		return nil, err
	}
	tmpl, err := leafTemplate(r, n, csr.PublicKey, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	cert, der, err := b.signCert(ctx, req.Storage, tmpl, csr.PublicKey, ic.is, r.NoStore, r.SignatureBits, r.UsePSS, ic.st.urls)
	if err != nil {
		return nil, err
	}
	d, err := certData(cert, der, ic.is, nil, &in)
	if err != nil {
		return nil, err
	}
	return b.leafResponse(r, cert, d, warnings), nil
}

func (b *Backend) signVerbatim(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in subjectIn
	var cin struct {
		CSR         string   `field:"csr"`
		KeyUsage    []string `field:"key_usage"`
		ExtKeyUsage []string `field:"ext_key_usage"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&cin); err != nil {
		return nil, err
	}
	csr, err := parseCSR(cin.CSR)
	if err != nil {
		return nil, err
	}
	ic, err := b.issueContext(ctx, req, req.Param("role"), &in, false)
	if err != nil {
		return nil, err
	}
	// Without a role, Vault signs verbatim under a permissive one.
	r := &role{KeyType: "any", ServerFlag: true, ClientFlag: true, NotBeforeDuration: 30 * time.Second,
		KeyUsage: []string{"DigitalSignature", "KeyAgreement", "KeyEncipherment"}}
	noStore := false
	if ic.role != nil {
		cp := *ic.role
		r.TTL, r.MaxTTL, r.NotBeforeDuration, r.GenerateLease = cp.TTL, cp.MaxTTL, cp.NotBeforeDuration, cp.GenerateLease
		r.KeyUsage, r.ExtKeyUsage = cp.KeyUsage, cp.ExtKeyUsage
		r.ServerFlag, r.ClientFlag, r.CodeSigningFlag, r.EmailProtectionFlag = cp.ServerFlag, cp.ClientFlag, cp.CodeSigningFlag, cp.EmailProtectionFlag
		r.SignatureBits, r.UsePSS = cp.SignatureBits, cp.UsePSS
		noStore = cp.NoStore
	}
	if cin.KeyUsage != nil {
		r.KeyUsage = cin.KeyUsage
	}
	if cin.ExtKeyUsage != nil {
		r.ExtKeyUsage = cin.ExtKeyUsage
	}
	def, maxTTL := b.ttls(r)
	notBefore, notAfter, warnings, err := b.validity(&in, def, maxTTL, r.NotBeforeDuration, ic.is)
	if err != nil {
		return nil, err
	}
	n := &names{cn: csr.Subject.CommonName, dns: csr.DNSNames, emails: csr.EmailAddresses, ips: csr.IPAddresses, uris: csr.URIs}
	tmpl, err := leafTemplate(r, n, csr.PublicKey, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	tmpl.Subject = csr.Subject
	cert, der, err := b.signCert(ctx, req.Storage, tmpl, csr.PublicKey, ic.is, noStore, r.SignatureBits, r.UsePSS, ic.st.urls)
	if err != nil {
		return nil, err
	}
	d, err := certData(cert, der, ic.is, nil, &in)
	if err != nil {
		return nil, err
	}
	return b.leafResponse(r, cert, d, warnings), nil
}
