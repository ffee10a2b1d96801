package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/ryanuber/go-glob"

	"github.com/tresorhq/tresor/internal/logical"
)

// checkName reports whether the role allows the DNS name or email
// address; when it does not, the error names the rule that refused it.
// what is "common name" or "subject alternate name", as in Vault's text.
func (r *role) checkName(what, name string) error {
	if r.AllowAnyName {
		return nil
	}
	host := name
	if at := strings.LastIndexByte(name, '@'); at >= 0 {
		host = name[at+1:]
	}
	host = strings.ToLower(host)
	wildcard := strings.HasPrefix(host, "*.")
	if wildcard && !r.AllowWildcardCertificates {
		return logical.InvalidRequest("%s %s not allowed by this role: wildcard certificates are disabled (allow_wildcard_certificates=false)", what, name)
	}
	if r.EnforceHostnames && !validHostname(strings.TrimPrefix(host, "*.")) {
		return logical.InvalidRequest("%s %s not allowed by this role: not a valid host name (enforce_hostnames=true)", what, name)
	}
	if r.AllowLocalhost && (host == "localhost" || host == "localdomain" || host == "localhost.localdomain") {
		return nil
	}
	for _, d := range r.AllowedDomains {
		d = strings.ToLower(d)
		if r.AllowBareDomains && host == d {
			return nil
		}
		if r.AllowSubdomains && strings.HasSuffix(host, "."+d) && len(host) > len(d)+1 {
			return nil
		}
		// A "*" in a glob domain may span labels, as Vault's glob does.
		if r.AllowGlobDomains && strings.Contains(d, "*") && glob.Glob(d, host) {
			return nil
		}
	}
	var why string
	switch {
	case len(r.AllowedDomains) == 0:
		why = "the role has no allowed_domains and allow_any_name=false"
	default:
		why = fmt.Sprintf("it matches none of allowed_domains %v (allow_bare_domains=%t, allow_subdomains=%t, allow_glob_domains=%t)",
			r.AllowedDomains, r.AllowBareDomains, r.AllowSubdomains, r.AllowGlobDomains)
	}
	if host == "localhost" || host == "localdomain" {
		why = "localhost is not allowed (allow_localhost=false)"
	}
	return logical.InvalidRequest("%s %s not allowed by this role: %s", what, name, why)
}

// validHostname checks RFC 1123 labels.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkIPs applies allow_ip_sans.
func (r *role) checkIPs(ips []net.IP) error {
	if len(ips) > 0 && !r.AllowIPSANs {
		return logical.InvalidRequest("IP Subject Alternative Names are not allowed in this role, but was provided %s (allow_ip_sans=false)", ips[0])
	}
	return nil
}

// checkURIs applies allowed_uri_sans (globs).
func (r *role) checkURIs(uris []*url.URL) error {
	for _, u := range uris {
		s := u.String()
		ok := false
		for _, pat := range r.AllowedURISANs {
			if glob.Glob(pat, s) {
				ok = true
				break
			}
		}
		if !ok {
			return logical.InvalidRequest("URI Subject Alternative Name %s not allowed by this role (allowed_uri_sans=%v)", s, r.AllowedURISANs)
		}
	}
	return nil
}

var keyUsageNames = map[string]x509.KeyUsage{
	"digitalsignature":  x509.KeyUsageDigitalSignature,
	"contentcommitment": x509.KeyUsageContentCommitment,
	"keyencipherment":   x509.KeyUsageKeyEncipherment,
	"dataencipherment":  x509.KeyUsageDataEncipherment,
	"keyagreement":      x509.KeyUsageKeyAgreement,
	"certsign":          x509.KeyUsageCertSign,
	"crlsign":           x509.KeyUsageCRLSign,
	"encipheronly":      x509.KeyUsageEncipherOnly,
	"decipheronly":      x509.KeyUsageDecipherOnly,
}

func keyUsages(names []string) (x509.KeyUsage, error) {
	var ku x509.KeyUsage
	for _, n := range names {
		u, ok := keyUsageNames[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(n), "KeyUsage"))]
		if !ok {
			return 0, logical.InvalidRequest("unknown key usage %q", n)
		}
		ku |= u
	}
	return ku, nil
}

var extKeyUsageNames = map[string]x509.ExtKeyUsage{
	"any":                            x509.ExtKeyUsageAny,
	"serverauth":                     x509.ExtKeyUsageServerAuth,
	"clientauth":                     x509.ExtKeyUsageClientAuth,
	"codesigning":                    x509.ExtKeyUsageCodeSigning,
	"emailprotection":                x509.ExtKeyUsageEmailProtection,
	"ipsecendsystem":                 x509.ExtKeyUsageIPSECEndSystem,
	"ipsectunnel":                    x509.ExtKeyUsageIPSECTunnel,
	"ipsecuser":                      x509.ExtKeyUsageIPSECUser,
	"timestamping":                   x509.ExtKeyUsageTimeStamping,
	"ocspsigning":                    x509.ExtKeyUsageOCSPSigning,
	"microsoftservergatedcrypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscapeservergatedcrypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoftcommercialcodesigning": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoftkernelcodesigning":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

func extKeyUsages(names []string) ([]x509.ExtKeyUsage, error) {
	var out []x509.ExtKeyUsage
	for _, n := range names {
		u, ok := extKeyUsageNames[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(n), "ExtKeyUsage"))]
		if !ok {
			return nil, logical.InvalidRequest("unknown ext key usage %q", n)
		}
		out = append(out, u)
	}
	return out, nil
}
