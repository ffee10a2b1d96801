package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tresorhq/tresor/internal/logical"
)

// keySpec is a key type and size as roles and generate endpoints name
// them: rsa (2048, 3072, 4096, 8192), ec (224, 256, 384, 521), ed25519.
type keySpec struct {
	Type string
	Bits int
}

// normalize fills the default size and checks the combination.
func (k keySpec) normalize() (keySpec, error) {
	switch k.Type {
	case "rsa":
		if k.Bits == 0 {
			k.Bits = 2048
		}
		if k.Bits < 2048 || k.Bits > 8192 {
			return k, logical.InvalidRequest("unsupported bit length for RSA key: %d", k.Bits)
		}
	case "ec":
		if k.Bits == 0 {
			k.Bits = 256
		}
		if _, ok := curves[k.Bits]; !ok {
			return k, logical.InvalidRequest("unsupported bit length for EC key: %d", k.Bits)
		}
	case "ed25519":
		k.Bits = 0
	case "any":
	default:
		return k, logical.InvalidRequest("unknown key type %q: must be rsa, ec or ed25519", k.Type)
	}
	return k, nil
}

var curves = map[int]elliptic.Curve{224: elliptic.P224(), 256: elliptic.P256(), 384: elliptic.P384(), 521: elliptic.P521()}

// generate makes a new private key. It takes no lock: callers run it
// before touching shared state (RSA generation takes tens of ms).
func (k keySpec) generate() (crypto.Signer, error) {
	switch k.Type {
	case "rsa":
		return rsa.GenerateKey(rand.Reader, k.Bits)
	case "ec":
		return ecdsa.GenerateKey(curves[k.Bits], rand.Reader)
	case "ed25519":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("cannot generate key type %q", k.Type)
}

// specOf describes a public key.
func specOf(pub crypto.PublicKey) (keySpec, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return keySpec{"rsa", p.N.BitLen()}, nil
	case *ecdsa.PublicKey:
		return keySpec{"ec", p.Curve.Params().BitSize}, nil
	case ed25519.PublicKey:
		return keySpec{"ed25519", 0}, nil
	}
	return keySpec{}, errors.New("unsupported public key type")
}

// privateKeyPEM encodes a private key as Vault returns it: PKCS #1 for
// RSA, SEC 1 for EC and PKCS #8 for Ed25519, or PKCS #8 for all when
// pkcs8 is set.
func privateKeyPEM(k crypto.Signer, pkcs8 bool) (string, error) {
	der, typ, err := privateKeyDER(k, pkcs8)
	if err != nil {
		return "", err
	}
	return pemText(typ, der), nil
}

func privateKeyDER(k crypto.Signer, pkcs8 bool) ([]byte, string, error) {
	if !pkcs8 {
		switch key := k.(type) {
		case *rsa.PrivateKey:
			return x509.MarshalPKCS1PrivateKey(key), "RSA PRIVATE KEY", nil
		case *ecdsa.PrivateKey:
			der, err := marshalECPrivateKey(key)
			return der, "EC PRIVATE KEY", err
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	return der, "PRIVATE KEY", err
}

// parsePrivateKey reads a PEM private key in any of the forms above.
func parsePrivateKey(text string) (crypto.Signer, error) {
	blk, _ := pem.Decode([]byte(text))
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	var k any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return s, nil
}

// keyTypeName is the private_key_type Vault reports.
func keyTypeName(k crypto.Signer) string {
	s, _ := specOf(k.Public())
	return s.Type
}

// subjectKeyID is the SHA-1 of the public key's bits (RFC 5280, 4.2.1.2).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		// An EC key's subjectPublicKey is its uncompressed point.
		if point, err := k.Bytes(); err == nil {
			sum := sha1.Sum(point)
			return sum[:], nil
		}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// samePublicKey reports whether two public keys are equal.
func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// signatureAlgorithm picks the signature an issuer's key makes:
// Go's default for the key unless signature_bits or use_pss ask otherwise.
func signatureAlgorithm(k crypto.Signer, bits int, pss bool) (x509.SignatureAlgorithm, error) {
	switch k.Public().(type) {
	case *rsa.PublicKey:
		switch bits {
		case 0, 256:
			if pss {
				return x509.SHA256WithRSAPSS, nil
			}
			return x509.SHA256WithRSA, nil
		case 384:
			if pss {
				return x509.SHA384WithRSAPSS, nil
			}
			return x509.SHA384WithRSA, nil
		case 512:
			if pss {
				return x509.SHA512WithRSAPSS, nil
			}
			return x509.SHA512WithRSA, nil
		}
		return 0, logical.InvalidRequest("unsupported signature_bits %d: must be 256, 384 or 512", bits)
	case *ecdsa.PublicKey:
		switch bits {
		case 0:
			return 0, nil
		case 256:
			return x509.ECDSAWithSHA256, nil
		case 384:
			return x509.ECDSAWithSHA384, nil
		case 512:
			return x509.ECDSAWithSHA512, nil
		}
		return 0, logical.InvalidRequest("unsupported signature_bits %d: must be 256, 384 or 512", bits)
	}
	return 0, nil
}

// The named curves of SEC 1 private keys (RFC 5480, section 2.1.1.1).
var (
	oidCurveP224 = asn1.ObjectIdentifier{1, 3, 132, 0, 33}
	oidCurveP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// marshalECPrivateKey writes the same SEC 1 ECPrivateKey DER as
// x509.MarshalECPrivateKey, without encoding/asn1's reflection: an issue
// writes one for every certificate's fresh key.
func marshalECPrivateKey(k *ecdsa.PrivateKey) ([]byte, error) {
	var oid asn1.ObjectIdentifier
	switch k.Curve {
	case elliptic.P224():
		oid = oidCurveP224
	case elliptic.P256():
		oid = oidCurveP256
	case elliptic.P384():
		oid = oidCurveP384
	case elliptic.P521():
		oid = oidCurveP521
	default:
		return x509.MarshalECPrivateKey(k)
	}
	scalar, err := k.Bytes()
	if err != nil {
		return nil, err
	}
	point, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 16+len(scalar)+len(point)+len(oid)*2))
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // ecPrivkeyVer1
		b.AddASN1OctetString(scalar)
		b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
		})
		b.AddASN1(casn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1BitString(point)
		})
	})
	return b.Bytes()
}
