package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strconv"

	"github.com/tresorhq/tresor/internal/logical"
)

// signOpts are the knobs of sign/ and verify/.
type signOpts struct {
	hash      crypto.Hash // 0: the input is signed as given ("none")
	prehashed bool
	sigAlg    string // pss (default) or pkcs1v15, RSA only
	marshal   string // asn1 (default) or jws
	saltLen   int
	context   []byte
}

func parseSignOpts(hashName string, prehashed bool, sigAlg, marshal, salt string, context []byte) (signOpts, error) {
	o := signOpts{prehashed: prehashed, sigAlg: sigAlg, marshal: marshal, context: context}
	if hashName == "" {
		hashName = "sha2-256"
	}
	if hashName != "none" {
		h, err := hashByName(hashName, true)
		if err != nil {
			return o, err
		}
		o.hash = h
	}
	switch o.sigAlg {
	case "":
		o.sigAlg = "pss"
	case "pss", "pkcs1v15":
	default:
		return o, logical.InvalidRequest("unsupported rsa signature algorithm %s", sigAlg)
	}
	switch o.marshal {
	case "":
		o.marshal = "asn1"
	case "asn1", "jws":
	default:
		return o, logical.InvalidRequest("invalid marshaling type %q", marshal)
	}
	switch salt {
	case "", "auto":
		o.saltLen = rsa.PSSSaltLengthAuto
	case "hash":
		o.saltLen = rsa.PSSSaltLengthEqualsHash
	default:
		n, err := strconv.Atoi(salt)
		if err != nil || n < 0 {
			return o, logical.InvalidRequest("salt length must be \"auto\", \"hash\" or a non-negative integer")
		}
		o.saltLen = n
	}
	return o, nil
}

// digest is what the key signs: the input hashed, unless it already is.
func (o signOpts) digest(input []byte) []byte {
	if o.hash == 0 || o.prehashed {
		return input
	}
	h := o.hash.New()
	h.Write(input)
	return h.Sum(nil)
}

func (o signOpts) encode(sig []byte) string {
	if o.marshal == "jws" {
		return base64.RawURLEncoding.EncodeToString(sig)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (o signOpts) decode(s string) ([]byte, error) {
	if o.marshal == "jws" {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
}

type ecdsaSig struct{ R, S *big.Int }

// ed25519Key is version v's Ed25519 key, derived from the context when
// the policy derives keys.
func (p *policy) ed25519Key(v *version, context []byte) (ed25519.PrivateKey, error) {
	if !p.Derived {
		return v.signer.(ed25519.PrivateKey), nil
	}
	seed, err := p.derivedKey(v, context)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sign signs input with version n (0: latest) and returns Vault's
// "vault:v<n>:<signature>" text.
func (p *policy) sign(n int, input []byte, o signOpts) (string, int, error) {
	if !supportsSigning(p.Type) {
		return "", 0, logical.InvalidRequest("message signing not supported for key type %s", p.Type)
	}
	n, err := p.encryptionVersion(n)
	if err != nil {
		return "", 0, err
	}
	v := p.Versions[n]
	var sig []byte
	switch {
	case p.Type == typeEd25519:
		if o.prehashed {
			return "", 0, logical.InvalidRequest("prehashed input is not supported for ed25519 keys")
		}
		k, err := p.ed25519Key(v, o.context)
		if err != nil {
			return "", 0, err
		}
		sig = ed25519.Sign(k, input)
	case isECDSA(p.Type):
		k := v.signer.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, k, o.digest(input))
		if err != nil {
			return "", 0, err
		}
		if o.marshal == "jws" {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		} else if sig, err = asn1.Marshal(ecdsaSig{r, s}); err != nil {
			return "", 0, err
		}
	case isRSA(p.Type):
		k := v.signer.(*rsa.PrivateKey)
		digest := o.digest(input)
		if o.sigAlg == "pss" {
			if o.hash == 0 {
				return "", 0, logical.InvalidRequest("hash_algorithm=none requires signature_algorithm=pkcs1v15")
			}
			sig, err = rsa.SignPSS(rand.Reader, k, o.hash, digest, &rsa.PSSOptions{SaltLength: o.saltLen})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, o.hash, digest)
		}
		if err != nil {
			return "", 0, logical.InvalidRequest("failed to sign: %v", err)
		}
	}
	return "vault:v" + strconv.Itoa(n) + ":" + o.encode(sig), n, nil
}

// verify checks a signature written by sign.
func (p *policy) verify(signature string, input []byte, o signOpts) (bool, error) {
	if !supportsSigning(p.Type) {
		return false, logical.InvalidRequest("message verification not supported for key type %s", p.Type)
	}
	n, payload, err := splitVersioned(signature, "signature")
	if err != nil {
		return false, err
	}
	v, err := p.decryptionVersion(n)
	if err != nil {
		return false, err
	}
	sig, err := o.decode(payload)
	if err != nil {
		return false, logical.InvalidRequest("invalid signature: could not decode base64")
	}
	switch {
	case p.Type == typeEd25519:
		if o.prehashed {
			return false, logical.InvalidRequest("prehashed input is not supported for ed25519 keys")
		}
		k, err := p.ed25519Key(v, o.context)
		if err != nil {
			return false, err
		}
		return ed25519.Verify(k.Public().(ed25519.PublicKey), input, sig), nil
	case isECDSA(p.Type):
		pub := v.signer.Public().(*ecdsa.PublicKey)
		digest := o.digest(input)
		if o.marshal == "jws" {
			size := (pub.Curve.Params().BitSize + 7) / 8
			if len(sig) != 2*size {
				return false, nil
			}
			r := new(big.Int).SetBytes(sig[:size])
			s := new(big.Int).SetBytes(sig[size:])
			return ecdsa.Verify(pub, digest, r, s), nil
		}
		return ecdsa.VerifyASN1(pub, digest, sig), nil
	default: // RSA
		pub := v.signer.Public().(*rsa.PublicKey)
		digest := o.digest(input)
		if o.sigAlg == "pss" {
			if o.hash == 0 {
				return false, logical.InvalidRequest("hash_algorithm=none requires signature_algorithm=pkcs1v15")
			}
			return rsa.VerifyPSS(pub, o.hash, digest, sig, &rsa.PSSOptions{SaltLength: o.saltLen}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(pub, o.hash, digest, sig) == nil, nil
	}
}
