package cert

import (
	"crypto/x509"
	"time"

	"github.com/ryanuber/go-glob"
)

// trusts reports whether role c accepts the client chain (leaf first) at
// now: the leaf is one of c's non-CA certificates, or chains to one of its
// CAs for client authentication; and it meets c's name constraints.
func (c *certRole) trusts(chain []*x509.Certificate, now time.Time) bool {
	anchors, err := parsePEM(c.Certificate)
	if err != nil {
		return false
	}
	leaf := chain[0]
	roots := x509.NewCertPool()
	hasCA := false
	trusted := false
	for _, a := range anchors {
		if a.IsCA && a.BasicConstraintsValid {
			roots.AddCert(a)
			hasCA = true
			continue
		}
		if leaf.Equal(a) && !now.Before(leaf.NotBefore) && !now.After(leaf.NotAfter) {
			trusted = true
		}
	}
	if !trusted && hasCA {
		intermediates := x509.NewCertPool()
		for _, ic := range chain[1:] {
			intermediates.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			CurrentTime:   now,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		trusted = err == nil
	}
	return trusted && c.allows(leaf)
}

// allows checks the name constraints of c against the leaf. Each non-empty
// list must have a glob matching one of the leaf's values.
func (c *certRole) allows(leaf *x509.Certificate) bool {
	cn := []string{leaf.Subject.CommonName}
	uris := make([]string, len(leaf.URIs))
	for i, u := range leaf.URIs {
		uris[i] = u.String()
	}
	legacy := append(append(append([]string{}, cn...), leaf.DNSNames...), leaf.EmailAddresses...)
	return anyMatch(c.AllowedNames, legacy) &&
		anyMatch(c.AllowedCommonNames, cn) &&
		anyMatch(c.AllowedDNSSANs, leaf.DNSNames) &&
		anyMatch(c.AllowedEmailSANs, leaf.EmailAddresses) &&
		anyMatch(c.AllowedURISANs, uris) &&
		anyMatch(c.AllowedOrganizationalUnits, leaf.Subject.OrganizationalUnit)
}

// anyMatch reports whether some glob matches some value; no globs allow
// anything.
func anyMatch(globs, values []string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		for _, v := range values {
			if glob.Glob(g, v) {
				return true
			}
		}
	}
	return false
}
