package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// createCertificate is x509.CreateCertificate, except for an issuer whose
// key is a standard library *ecdsa.PrivateKey: then the certificate is
// encoded by x509.CreateCertificate as usual, but signed here, which spares
// the verification CreateCertificate makes of every signature it receives
// (for a P-256 issuer that check costs twice the signing, and a third of an
// issue). That check exists to catch a crypto.Signer that misbehaves (an
// HSM, a remote KMS, a buggy wrapper); here the signer is the standard
// library's own ECDSA over the exact bytes embedded, so there is nothing
// for it to catch. Every other signer (RSA, whose signing checks itself
// against faults, Ed25519, anything wrapped) goes through
// x509.CreateCertificate unchanged.
func createCertificate(tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) ([]byte, error) {
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	}
	c := &tbsSigner{key: key}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, c)
	if errors.Is(err, errSigned) {
		return assembleCertificate(c.tbs, c.sig)
	}
	// Any other error is CreateCertificate's own; and should it ever sign
	// through Sign rather than SignMessage, it has made and checked the
	// certificate itself.
	return der, err
}

// errSigned stops x509.CreateCertificate once tbsSigner has its signature:
// the certificate is then assembled by assembleCertificate.
var errSigned = errors.New("pki: TBSCertificate signed")

// tbsSigner is the issuer key as x509.CreateCertificate sees it: it signs
// the TBSCertificate it is handed (crypto.MessageSigner receives the whole
// message, not a digest), keeps both, and ends CreateCertificate with
// errSigned before its verification.
type tbsSigner struct {
	key      *ecdsa.PrivateKey
	tbs, sig []byte
}

func (s *tbsSigner) Public() crypto.PublicKey { return s.key.Public() }

// Sign is not called by CreateCertificate, which prefers SignMessage; it
// signs a digest as the key would, so the type is an honest Signer (and
// CreateCertificate, were it to call Sign, would finish as usual).
func (s *tbsSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}

func (s *tbsSigner) SignMessage(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	hf := opts.HashFunc()
	if hf == 0 || !hf.Available() {
		return nil, errors.New("x509: ECDSA signing needs a hash")
	}
	h := hf.New()
	h.Write(msg)
	sig, err := ecdsa.SignASN1(r, s.key, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	s.tbs, s.sig = msg, sig
	return nil, errSigned
}

// assembleCertificate encodes Certificate ::= SEQUENCE { tbsCertificate,
// signatureAlgorithm, signatureValue BIT STRING } from the TBSCertificate
// DER and its signature, with the signature algorithm copied from the
// TBSCertificate's own signature field, as RFC 5280 requires them to match
// (and as x509.CreateCertificate writes it).
func assembleCertificate(tbs, sig []byte) ([]byte, error) {
	in := cryptobyte.String(tbs)
	var body, alg cryptobyte.String
	if !in.ReadASN1(&body, casn1.SEQUENCE) || !in.Empty() ||
		!body.SkipOptionalASN1(casn1.Tag(0).Constructed().ContextSpecific()) ||
		!body.SkipASN1(casn1.INTEGER) ||
		!body.ReadASN1Element(&alg, casn1.SEQUENCE) {
		return nil, errors.New("x509: malformed TBSCertificate")
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(alg)+len(sig)+16))
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}
