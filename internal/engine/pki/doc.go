// Package pki is Vault's PKI secrets engine: a certificate authority
// with roles, issuing and signing, revocation and CRLs.
//
// The devstack flow, relative to the mount:
//
//	root/generate/internal  common_name=... ttl=87600h     a root issuer (key stays inside)
//	roles/reference-api     allowed_domains=devstack.local allow_subdomains=true
//	issue/reference-api     common_name=api.devstack.local → certificate, private_key, ca_chain
//	cert/ca, ca/pem, ca_chain, cert/<serial>, certs (LIST)
//
// Also: sign/<role> (CSR), sign-verbatim, revoke, crl, crl/pem,
// crl/rotate, intermediate/generate, root/sign-intermediate,
// intermediate/set-signed, root/sign-self-issued, config/urls,
// config/crl, config/issuers, config/keys, issuers, issuer/<ref>, keys,
// key/<ref>, tidy and tidy-status.
//
// A request outside a role's rules answers 400 with Vault's message
// followed by the rule that refused it, e.g. "common name evil.com not
// allowed by this role: it matches none of allowed_domains [...]".
//
// # Concurrency
//
// Issuers, keys and URL settings are loaded once into an immutable
// caState shared by all requests; changes to them are serialised, stored,
// and then drop the cache. Issuing takes no lock at all: the leaf key is
// generated (EC P-256 by preference; RSA generation just takes longer),
// signed and stored with one write. The certificate store is split in
// 256 buckets by the serial's first byte, so tidy and LIST certs walk it a
// bucket at a time.
package pki
