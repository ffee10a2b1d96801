// Package cert is the TLS certificate auth method: a client logs in with
// the certificate it presented on the TLS connection.
//
// Mounted at auth/cert/, it serves
//
//	certs/<name>   create, update, read, delete a trusted certificate role (LIST certs)
//	login          {"name": optional} → an auth block for the presented certificate
//
// A role holds one or more PEM certificates. CA certificates are trust
// anchors: the client certificate must chain to one of them (verified here
// with crypto/x509, whether or not the listener verified it, and only for
// client authentication). A non-CA certificate is trusted as itself: the
// client must present exactly it. A role may further restrict the client
// certificate by allowed_common_names, allowed_dns_sans,
// allowed_email_sans, allowed_uri_sans and allowed_organizational_units
// (globs with "*"; empty allows all).
//
// Login without name tries every role in name order and takes the first
// that accepts the certificate; with name it tries only that role. No
// client certificate answers 400 "client certificate must be supplied";
// one no role accepts answers 400 "invalid certificate or no client
// certificate supplied".
package cert
