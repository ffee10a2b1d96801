package pki

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// subjectIn is the naming input shared by issue, sign and CA generation.
type subjectIn struct {
	CommonName        string   `field:"common_name"`
	AltNames          []string `field:"alt_names"`
	IPSANs            []string `field:"ip_sans"`
	URISANs           []string `field:"uri_sans"`
	ExcludeCNFromSANs bool     `field:"exclude_cn_from_sans"`
	TTL               string   `field:"ttl"`
	NotAfter          string   `field:"not_after"`
	Format            string   `field:"format"`
	PrivateKeyFormat  string   `field:"private_key_format"`
	RemoveRoots       bool     `field:"remove_roots_from_chain"`
	IssuerRef         string   `field:"issuer_ref"`
}

// subjectFields declares subjectIn's parameters.
func subjectFields(extra map[string]*framework.Field) map[string]*framework.Field {
	f := map[string]*framework.Field{
		"common_name":             {Type: framework.TypeString, Description: "The certificate's common name."},
		"alt_names":               {Type: framework.TypeStringSlice, Description: "DNS names and email addresses for the SAN extension."},
		"ip_sans":                 {Type: framework.TypeStringSlice, Description: "IP addresses for the SAN extension."},
		"uri_sans":                {Type: framework.TypeStringSlice, Description: "URIs for the SAN extension."},
		"other_sans":              {Type: framework.TypeStringSlice, Description: "Not supported; must be empty."},
		"exclude_cn_from_sans":    {Type: framework.TypeBool, Description: "Leave the common name out of the DNS SANs."},
		"ttl":                     {Type: framework.TypeString, Description: "Requested lifetime."},
		"not_after":               {Type: framework.TypeString, Description: "Requested expiry, RFC 3339; wins over ttl."},
		"format":                  {Type: framework.TypeString, Default: "pem", Description: "pem, der or pem_bundle."},
		"private_key_format":      {Type: framework.TypeString, Default: "der", Description: "der (type-specific PEM) or pkcs8."},
		"remove_roots_from_chain": {Type: framework.TypeBool, Description: "Leave self-signed certificates out of ca_chain."},
		"issuer_ref":              {Type: framework.TypeString, Description: "Issuer to sign with; the role's by default."},
		"serial_number":           {Type: framework.TypeString, Description: "Subject serial number (not the certificate's)."},
		"user_ids":                {Type: framework.TypeStringSlice, Description: "Not supported; must be empty."},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// names is a request's SANs, parsed.
type names struct {
	cn     string
	dns    []string
	emails []string
	ips    []net.IP
	uris   []*url.URL
}

func parseNames(in *subjectIn) (*names, error) {
	n := &names{cn: strings.TrimSpace(in.CommonName)}
	for _, a := range in.AltNames {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if strings.Contains(a, "@") {
			n.emails = append(n.emails, a)
		} else {
			n.dns = append(n.dns, a)
		}
	}
	for _, s := range in.IPSANs {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return nil, logical.InvalidRequest("the value %q is not a valid IP address", s)
		}
		n.ips = append(n.ips, ip)
	}
	for _, s := range in.URISANs {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme == "" {
			return nil, logical.InvalidRequest("the value %q is not a valid URI", s)
		}
		n.uris = append(n.uris, u)
	}
	if n.cn != "" && !in.ExcludeCNFromSANs {
		if strings.Contains(n.cn, "@") {
			n.emails = appendUnique(n.emails, n.cn)
		} else {
			n.dns = appendUnique(n.dns, n.cn)
		}
	}
	return n, nil
}

func appendUnique(list []string, s string) []string {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return list
		}
	}
	return append([]string{s}, list...)
}

// check applies the role's naming rules.
func (r *role) check(n *names) error {
	if n.cn == "" && r.RequireCN {
		return logical.InvalidRequest("the common_name field is required, or must be provided in a CSR with \"use_csr_common_name\" set to true, unless \"require_cn\" is set to false")
	}
	if n.cn != "" {
		if err := r.checkName("common name", n.cn); err != nil {
			return err
		}
	}
	for _, d := range append(append([]string{}, n.dns...), n.emails...) {
		if strings.EqualFold(d, n.cn) {
			continue
		}
		if err := r.checkName("subject alternate name", d); err != nil {
			return err
		}
	}
	if err := r.checkIPs(n.ips); err != nil {
		return err
	}
	return r.checkURIs(n.uris)
}

// validity computes NotBefore/NotAfter: the requested TTL (or not_after),
// else the default; capped at maxTTL with a warning; refused when it
// would outlive the issuer.
func (b *Backend) validity(in *subjectIn, defTTL, maxTTL, notBeforeSkew time.Duration, is *issuer) (time.Time, time.Time, []string, error) {
	now := b.now()
	var warnings []string
	ttl := defTTL
	if in.TTL != "" {
		d, err := parseDuration(in.TTL)
		if err != nil {
			return time.Time{}, time.Time{}, nil, logical.InvalidRequest("invalid ttl: %s", in.TTL)
		}
		ttl = d
	}
	notAfter := now.Add(ttl)
	if in.NotAfter != "" {
		t, err := time.Parse(time.RFC3339, in.NotAfter)
		if err != nil {
			return time.Time{}, time.Time{}, nil, logical.InvalidRequest("invalid not_after: must be RFC 3339")
		}
		notAfter = t
		ttl = t.Sub(now)
	}
	if ttl <= 0 {
		return time.Time{}, time.Time{}, nil, logical.InvalidRequest("requested TTL must be positive")
	}
	if maxTTL > 0 && ttl > maxTTL {
		warnings = append(warnings, fmt.Sprintf("TTL %q is longer than permitted maxTTL %q, so maxTTL is being used", ttl, maxTTL))
		notAfter = now.Add(maxTTL)
	}
	if is != nil && notAfter.After(is.cert.NotAfter) {
		switch is.LeafNotAfterBehavior {
		case "truncate":
			notAfter = is.cert.NotAfter
		case "permit":
		default:
			return time.Time{}, time.Time{}, nil, logical.InvalidRequest("cannot satisfy request, as TTL would result in notAfter of %s that is beyond the expiration of the CA certificate at %s",
				notAfter.UTC().Format(time.RFC3339Nano), is.cert.NotAfter.UTC().Format(time.RFC3339Nano))
		}
	}
	return now.Add(-notBeforeSkew), notAfter, warnings, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := parseInt(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := parseInt(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func parseInt(s string) (int64, error) {
	var n int64
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int64(c-'0')
		if n > 1<<40 {
			return 0, fmt.Errorf("too large")
		}
	}
	return n, nil
}

// subject builds a name from a common name and the role's (or request's)
// subject fields.
func subject(cn string, r *role, serial string) pkix.Name {
	n := pkix.Name{CommonName: cn, SerialNumber: serial}
	if r != nil {
		n.OrganizationalUnit, n.Organization, n.Country = r.OU, r.Organization, r.Country
		n.Locality, n.Province, n.StreetAddress, n.PostalCode = r.Locality, r.Province, r.StreetAddress, r.PostalCode
	}
	return n
}

// signCert creates a certificate for pub from tmpl with the issuer's key,
// stores it unless noStore, and returns the completed template (serial
// set) with the certificate's DER.
func (b *Backend) signCert(ctx context.Context, st storage.Writer, tmpl *x509.Certificate, pub crypto.PublicKey, is *issuer, noStore bool, sigBits int, pss bool, urls *urlsConfig) (*x509.Certificate, []byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	if tmpl.SubjectKeyId == nil {
		if tmpl.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return nil, nil, logical.InvalidRequest("unsupported public key: %v", err)
		}
	}
	if urls != nil {
		tmpl.IssuingCertificateURL = urls.IssuingCertificates
		tmpl.CRLDistributionPoints = urls.CRLDistributionPoints
		tmpl.OCSPServer = urls.OCSPServers
	}
	parent, signer := tmpl, crypto.Signer(nil)
	if is != nil {
		parent, signer = is.cert, is.signer
		if signer == nil {
			return nil, nil, logical.InvalidRequest("issuer %s has no private key in this mount and cannot sign", is.ID)
		}
	}
	if signer == nil {
		return nil, nil, fmt.Errorf("no signer")
	}
	if tmpl.SignatureAlgorithm, err = signatureAlgorithm(signer, sigBits, pss); err != nil {
		return nil, nil, err
	}
	der, err := createCertificate(tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, logical.InvalidRequest("unable to create certificate: %v", err)
	}
	// The template holds
	// what the response needs (serial, NotAfter), so skip a re-parse.
	if !noStore {
		if err := st.Put(ctx, &storage.Entry{Key: certKey(storageSerialOf(tmpl.SerialNumber)), Value: der}); err != nil {
			return nil, nil, fmt.Errorf("store certificate: %w", err)
		}
	}
	return tmpl, der, nil
}

func storageSerialOf(n *big.Int) string { return serialWith(n, '-') }

// certData is the response of issue, sign and the CA signing endpoints.
func certData(cert *x509.Certificate, der []byte, is *issuer, key crypto.Signer, in *subjectIn) (map[string]any, error) {
	d := map[string]any{
		"serial_number": serialText(cert.SerialNumber),
		"not_before":    cert.NotBefore.Unix(),
		"expiration":    cert.NotAfter.Unix(),
	}
	format := in.Format
	if format == "" {
		format = "pem"
	}
	var certText, keyText string
	switch format {
	case "pem", "pem_bundle":
		certText = certPEM(der)
		if key != nil {
			var err error
			if keyText, err = privateKeyPEM(key, in.PrivateKeyFormat == "pkcs8"); err != nil {
				return nil, err
			}
		}
	case "der":
		certText = base64.StdEncoding.EncodeToString(der)
		if key != nil {
			kd, _, err := privateKeyDER(key, in.PrivateKeyFormat == "pkcs8")
			if err != nil {
				return nil, err
			}
			keyText = base64.StdEncoding.EncodeToString(kd)
		}
	default:
		return nil, logical.InvalidRequest("invalid format %q: must be pem, der or pem_bundle", format)
	}
	var chain []string
	if is != nil {
		for _, c := range is.chain {
			if in.RemoveRoots {
				if pc, err := parseCertPEM(c); err == nil && isSelfSigned(pc) {
					continue
				}
			}
			chain = append(chain, pemOrDER(c, format))
		}
		d["issuing_ca"] = pemOrDER(is.Certificate, format)
		d["ca_chain"] = chain
	}
	if format == "pem_bundle" {
		parts := []string{strings.TrimSpace(certText)}
		if keyText != "" {
			parts = append([]string{strings.TrimSpace(keyText)}, parts...)
		}
		for _, c := range chain {
			parts = append(parts, strings.TrimSpace(c))
		}
		certText = strings.Join(parts, "\n")
	}
	d["certificate"] = strings.TrimSpace(certText)
	if key != nil {
		d["private_key"] = strings.TrimSpace(keyText)
		d["private_key_type"] = keyTypeName(key)
	}
	return d, nil
}

// pemOrDER converts a PEM certificate for a der-format response.
func pemOrDER(p, format string) string {
	if format != "der" {
		return strings.TrimSpace(p)
	}
	blk, _ := pem.Decode([]byte(p))
	if blk == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(blk.Bytes)
}

// leafTemplate builds a leaf certificate's template from checked names.
func leafTemplate(r *role, n *names, pub crypto.PublicKey, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	ku, err := keyUsages(r.KeyUsage)
	if err != nil {
		return nil, err
	}
	if _, isRSA := pub.(*rsa.PublicKey); !isRSA {
		ku &^= x509.KeyUsageKeyEncipherment // meaningless without RSA
	}
	eku, err := extKeyUsages(r.ExtKeyUsage)
	if err != nil {
		return nil, err
	}
	if r.ServerFlag {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	if r.ClientFlag {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	if r.CodeSigningFlag {
		eku = append(eku, x509.ExtKeyUsageCodeSigning)
	}
	if r.EmailProtectionFlag {
		eku = append(eku, x509.ExtKeyUsageEmailProtection)
	}
	return &x509.Certificate{
		Subject:        subject(n.cn, r, ""),
		DNSNames:       n.dns,
		EmailAddresses: n.emails,
		IPAddresses:    n.ips,
		URIs:           n.uris,
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       ku,
		ExtKeyUsage:    eku,
	}, nil
}
