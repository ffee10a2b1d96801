package transit

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tresorhq/tresor/internal/logical"
)

// The key types, as Vault names them.
const (
	typeAES128     = "aes128-gcm96"
	typeAES256     = "aes256-gcm96"
	typeChaCha     = "chacha20-poly1305"
	typeEd25519    = "ed25519"
	typeECDSAP256  = "ecdsa-p256"
	typeECDSAP384  = "ecdsa-p384"
	typeECDSAP521  = "ecdsa-p521"
	typeRSA2048    = "rsa-2048"
	typeRSA3072    = "rsa-3072"
	typeRSA4096    = "rsa-4096"
	typeHMAC       = "hmac"
	kdfHKDFSHA256  = "hkdf_sha256"
	convergentV3   = 3
	defaultHMACLen = 32
)

// keyTypes lists every type a key may be created with.
var keyTypes = []string{typeAES128, typeAES256, typeChaCha, typeEd25519, typeECDSAP256, typeECDSAP384, typeECDSAP521, typeRSA2048, typeRSA3072, typeRSA4096, typeHMAC}

func validType(t string) bool {
	for _, k := range keyTypes {
		if k == t {
			return true
		}
	}
	return false
}

func symmetric(t string) bool { return t == typeAES128 || t == typeAES256 || t == typeChaCha }
func isRSA(t string) bool     { return t == typeRSA2048 || t == typeRSA3072 || t == typeRSA4096 }
func isECDSA(t string) bool   { return t == typeECDSAP256 || t == typeECDSAP384 || t == typeECDSAP521 }
func asymmetric(t string) bool {
	return t == typeEd25519 || isECDSA(t) || isRSA(t)
}
func supportsEncryption(t string) bool { return symmetric(t) || isRSA(t) }
func supportsSigning(t string) bool    { return asymmetric(t) }
func supportsDerivation(t string) bool { return symmetric(t) || t == typeEd25519 }

// version is one generation of a key's material. It is immutable once made.
type version struct {
	// Key is the symmetric key, the HMAC key of an hmac-type key, or the
	// Ed25519 seed.
	Key []byte `json:"key,omitempty"`
	// HMACKey serves hmac/ for every key type but hmac.
	HMACKey []byte `json:"hmac_key"`
	// PrivateKey is the PKCS #8 DER of an ECDSA or RSA key.
	PrivateKey   []byte    `json:"private_key,omitempty"`
	CreationTime time.Time `json:"creation_time"`

	// Built when loaded, never stored.
	aead   cipher.AEAD // for non-derived symmetric keys
	signer crypto.Signer
}

// policy is a named key and all its versions: what Vault calls a policy.
// A loaded policy is shared by concurrent requests and never modified; a
// change works on a clone (see keyCache.update).
type policy struct {
	Name                 string           `json:"name"`
	Type                 string           `json:"type"`
	Derived              bool             `json:"derived"`
	KDF                  string           `json:"kdf,omitempty"`
	ConvergentEncryption bool             `json:"convergent_encryption"`
	ConvergentVersion    int              `json:"convergent_version,omitempty"`
	Exportable           bool             `json:"exportable"`
	AllowPlaintextBackup bool             `json:"allow_plaintext_backup"`
	DeletionAllowed      bool             `json:"deletion_allowed"`
	MinDecryptionVersion int              `json:"min_decryption_version"`
	MinEncryptionVersion int              `json:"min_encryption_version"`
	MinAvailableVersion  int              `json:"min_available_version"`
	LatestVersion        int              `json:"latest_version"`
	AutoRotatePeriod     time.Duration    `json:"auto_rotate_period"`
	KeySize              int              `json:"key_size,omitempty"`
	Versions             map[int]*version `json:"versions"`
}

// clone copies p for modification; versions are immutable and shared.
func (p *policy) clone() *policy {
	c := *p
	c.Versions = maps.Clone(p.Versions)
	return &c
}

// newVersion generates fresh material of p's type. RSA generation takes
// a while; callers run it before taking any lock.
func newVersion(typ string, keySize int, now time.Time) (*version, error) {
	v := &version{CreationTime: now.UTC(), HMACKey: randomBytes(32)}
	switch typ {
	case typeAES128:
		v.Key = randomBytes(16)
	case typeAES256, typeChaCha:
		v.Key = randomBytes(32)
	case typeHMAC:
		if keySize == 0 {
			keySize = defaultHMACLen
		}
		v.Key = randomBytes(keySize)
	case typeEd25519:
		v.Key = randomBytes(ed25519.SeedSize)
	case typeECDSAP256, typeECDSAP384, typeECDSAP521, typeRSA2048, typeRSA3072, typeRSA4096:
		var k crypto.Signer
		var err error
		switch typ {
		case typeECDSAP256:
			k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case typeECDSAP384:
			k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		case typeECDSAP521:
			k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		case typeRSA2048:
			k, err = rsa.GenerateKey(rand.Reader, 2048)
		case typeRSA3072:
			k, err = rsa.GenerateKey(rand.Reader, 3072)
		default:
			k, err = rsa.GenerateKey(rand.Reader, 4096)
		}
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", typ, err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		v.PrivateKey = der
	default:
		return nil, fmt.Errorf("unknown key type %q", typ)
	}
	return v, v.build(typ)
}

// build prepares the in-memory forms of v's material.
func (v *version) build(typ string) error {
	switch {
	case symmetric(typ):
		a, err := newAEAD(typ, v.Key)
		if err != nil {
			return err
		}
		v.aead = a
	case typ == typeEd25519:
		if len(v.Key) != ed25519.SeedSize {
			return errors.New("bad ed25519 seed")
		}
		v.signer = ed25519.NewKeyFromSeed(v.Key)
	case isECDSA(typ) || isRSA(typ):
		k, err := x509.ParsePKCS8PrivateKey(v.PrivateKey)
		if err != nil {
			return fmt.Errorf("parse private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return errors.New("private key cannot sign")
		}
		v.signer = s
	}
	return nil
}

// build prepares every version of p after a load from storage.
func (p *policy) build() error {
	for n, v := range p.Versions {
		if err := v.build(p.Type); err != nil {
			return fmt.Errorf("key %q version %d: %w", p.Name, n, err)
		}
	}
	return nil
}

func newAEAD(typ string, key []byte) (cipher.AEAD, error) {
	if typ == typeChaCha {
		return chacha20poly1305.New(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("transit: crypto/rand failed: " + err.Error())
	}
	return b
}

// rotate adds a new latest version to p (a clone).
func (p *policy) rotate(v *version) {
	p.LatestVersion++
	p.Versions[p.LatestVersion] = v
}

// Client-facing errors with Vault's wording.
var (
	errTooOld      = logical.InvalidRequest("ciphertext or signature version is disallowed by policy (too old)")
	errNoPrefix    = logical.InvalidRequest("invalid ciphertext: no prefix")
	errNeedContext = logical.InvalidRequest("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key")
)

// encryptionVersion picks the version an encryption uses: the latest, or
// the one asked for within the policy's bounds.
func (p *policy) encryptionVersion(asked int) (int, error) {
	if asked == 0 {
		return p.LatestVersion, nil
	}
	if asked < 0 || asked > p.LatestVersion {
		return 0, logical.InvalidRequest("requested version for encryption is greater than the latest key version")
	}
	if p.MinEncryptionVersion > 0 && asked < p.MinEncryptionVersion {
		return 0, logical.InvalidRequest("requested version for encryption is less than the minimum encryption key version")
	}
	if asked < p.MinDecryptionVersion || p.Versions[asked] == nil {
		return 0, errTooOld
	}
	return asked, nil
}

// decryptionVersion returns version n if the policy still allows its use.
func (p *policy) decryptionVersion(n int) (*version, error) {
	if n < p.MinDecryptionVersion || n < p.MinAvailableVersion {
		return nil, errTooOld
	}
	v := p.Versions[n]
	if v == nil || n > p.LatestVersion {
		return nil, logical.InvalidRequest("invalid ciphertext: version is too new")
	}
	return v, nil
}

// derivedKey returns the key of v for context: the key itself unless the
// policy derives per-context keys (HKDF-SHA256, the context as info).
func (p *policy) derivedKey(v *version, context []byte) ([]byte, error) {
	if !p.Derived {
		return v.Key, nil
	}
	if len(context) == 0 {
		return nil, errNeedContext
	}
	size := len(v.Key)
	if p.Type == typeEd25519 {
		size = ed25519.SeedSize
	}
	return hkdf.Key(sha256.New, v.Key, nil, string(context), size)
}

func (p *policy) aeadFor(v *version, context []byte) (cipher.AEAD, []byte, error) {
	if !p.Derived {
		return v.aead, v.Key, nil
	}
	key, err := p.derivedKey(v, context)
	if err != nil {
		return nil, nil, err
	}
	a, err := newAEAD(p.Type, key)
	return a, key, err
}

// encrypt seals plaintext with version n (0: latest) and returns Vault's
// "vault:v<n>:<base64>" text. For AEAD types the base64 holds the nonce
// followed by the sealed data and tag.
func (p *policy) encrypt(n int, plaintext, context, nonce, aad []byte) (string, int, error) {
	// Room for the text of an AEAD ciphertext (nonce and tag at most 48
	// bytes); an RSA one grows it once.
	dst := make([]byte, 0, 32+base64.StdEncoding.EncodedLen(len(plaintext)+48))
	text, _, n, err := p.appendEncrypt(dst, nil, nil, n, plaintext, context, nonce, aad)
	if err != nil {
		return "", 0, err
	}
	return string(text), n, nil
}

// nonces hands out random nonces drawn from crypto/rand in blocks, so a
// batch makes one read for its items' nonces instead of one each (a
// quarter of an item's encryption went to the getrandom call). Every
// nonce is fresh crypto/rand output handed out once, exactly as unique and
// unpredictable as a read of its own; a nonces lives for one request.
type nonces struct {
	block []byte // the last block drawn: small or big
	big   []byte // room for blocks larger than small
	off   int    // how much of block is handed out
	left  int    // items still to come, including the current one
	small [48]byte
}

// maxNonceBlock bounds one read (and the buffer): 4 KiB holds the
// nonces of 341 AES-GCM items.
const maxNonceBlock = 4096

// read fills out with a fresh nonce.
func (ns *nonces) read(out []byte) error {
	if ns == nil {
		_, err := io.ReadFull(rand.Reader, out)
		return err
	}
	if len(ns.block)-ns.off < len(out) {
		n := len(out) * max(ns.left, 1)
		if n > maxNonceBlock {
			n = max(maxNonceBlock/len(out), 1) * len(out)
		}
		if n <= len(ns.small) {
			// A request of a few items draws into the struct.
			ns.block = ns.small[:n]
		} else {
			if cap(ns.big) < n {
				ns.big = make([]byte, n)
			}
			ns.block = ns.big[:n]
		}
		ns.off = 0
		if _, err := io.ReadFull(rand.Reader, ns.block); err != nil {
			ns.block = ns.block[:0]
			return err
		}
	}
	ns.off += copy(out, ns.block[ns.off:])
	return nil
}

// next is called once per item, after it: one fewer to draw for.
func (ns *nonces) next() {
	if ns.left > 0 {
		ns.left--
	}
}

// appendEncrypt is encrypt appending the text to dst; the sealed bytes go
// through scratch, returned for reuse. On error dst comes back unchanged.
// Random nonces come from rnd (crypto/rand directly when nil).
func (p *policy) appendEncrypt(dst, scratch []byte, rnd *nonces, n int, plaintext, context, nonce, aad []byte) ([]byte, []byte, int, error) {
	if !supportsEncryption(p.Type) {
		return dst, scratch, 0, logical.InvalidRequest("encryption not supported for key type %s", p.Type)
	}
	n, err := p.encryptionVersion(n)
	if err != nil {
		return dst, scratch, 0, err
	}
	v := p.Versions[n]
	var out []byte
	if isRSA(p.Type) {
		if len(aad) > 0 {
			return dst, scratch, 0, logical.InvalidRequest("associated_data is only supported by AEAD key types, not %s", p.Type)
		}
		pub := v.signer.Public().(*rsa.PublicKey)
		out, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plaintext, nil)
		if err != nil {
			return dst, scratch, 0, logical.InvalidRequest("failed to RSA encrypt the plaintext: %v", err)
		}
	} else {
		a, key, err := p.aeadFor(v, context)
		if err != nil {
			return dst, scratch, 0, err
		}
		// The nonce is written straight into the output buffer, which
		// holds nonce, ciphertext and tag and is reused across a batch.
		ns := a.NonceSize()
		if need := ns + len(plaintext) + a.Overhead(); cap(scratch) < need {
			scratch = make([]byte, 0, need)
		}
		out = scratch[:ns]
		switch {
		case p.ConvergentEncryption && p.ConvergentVersion >= convergentV3:
			m := hmac.New(sha256.New, key)
			m.Write(plaintext)
			copy(out, m.Sum(nil))
		case p.ConvergentEncryption:
			if len(nonce) != ns {
				return dst, scratch, 0, logical.InvalidRequest("invalid nonce length: must be %d bytes", ns)
			}
			copy(out, nonce)
		default:
			if err := rnd.read(out); err != nil {
				return dst, scratch, 0, fmt.Errorf("transit: reading a nonce: %w", err)
			}
		}
		out = a.Seal(out, out[:ns], plaintext, aad)
		scratch = out[:0]
	}
	return appendVersioned(dst, n, out), scratch, n, nil
}

// versioned encodes payload as "vault:v<n>:<base64>" in one allocation
// besides the string itself.
func versioned(n int, payload []byte) string {
	b := make([]byte, 0, len("vault:v:")+20+base64.StdEncoding.EncodedLen(len(payload)))
	return string(appendVersioned(b, n, payload))
}

// appendVersioned appends "vault:v<n>:<base64 of payload>" to b.
func appendVersioned(b []byte, n int, payload []byte) []byte {
	b = append(b, "vault:v"...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ':')
	return base64.StdEncoding.AppendEncode(b, payload)
}

// splitVersioned parses "vault:v<n>:<payload>" as written by encrypt,
// sign and hmac.
func splitVersioned(s, what string) (int, string, error) {
	rest, ok := strings.CutPrefix(s, "vault:")
	if !ok {
		return 0, "", logical.InvalidRequest("invalid %s: no prefix", what)
	}
	vs, payload, ok := strings.Cut(rest, ":")
	if !ok || !strings.HasPrefix(vs, "v") {
		return 0, "", logical.InvalidRequest("invalid %s: wrong number of fields", what)
	}
	n, err := strconv.Atoi(vs[1:])
	if err != nil || n <= 0 {
		return 0, "", logical.InvalidRequest("invalid %s: version number could not be decoded", what)
	}
	return n, payload, nil
}

// decrypt opens a ciphertext written by encrypt and returns the plaintext
// and the key version that sealed it.
func (p *policy) decrypt(ciphertext string, context, aad []byte) ([]byte, int, error) {
	if !supportsEncryption(p.Type) {
		return nil, 0, logical.InvalidRequest("decryption not supported for key type %s", p.Type)
	}
	n, payload, err := splitVersioned(ciphertext, "ciphertext")
	if err != nil {
		return nil, 0, err
	}
	v, err := p.decryptionVersion(n)
	if err != nil {
		return nil, 0, err
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, 0, logical.InvalidRequest("invalid ciphertext: could not decode base64")
	}
	if isRSA(p.Type) {
		out, err := rsa.DecryptOAEP(sha256.New(), nil, v.signer.(*rsa.PrivateKey), raw, nil)
		if err != nil {
			return nil, 0, logical.InvalidRequest("failed to RSA decrypt the ciphertext: message authentication failed")
		}
		return out, n, nil
	}
	a, _, err := p.aeadFor(v, context)
	if err != nil {
		return nil, 0, err
	}
	if len(raw) < a.NonceSize()+a.Overhead() {
		return nil, 0, logical.InvalidRequest("invalid ciphertext: ciphertext too short")
	}
	out, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], aad)
	if err != nil {
		return nil, 0, logical.InvalidRequest("cipher: message authentication failed")
	}
	return out, n, nil
}

// hmacKey is the key hmac/ uses for version v.
func (p *policy) hmacKey(v *version) []byte {
	if p.Type == typeHMAC {
		return v.Key
	}
	return v.HMACKey
}

// publicKeyText is a version's public key as keys/ and export/ show it:
// PEM (PKIX) for ECDSA and RSA, base64 of the raw key for Ed25519.
func publicKeyText(typ string, v *version) (string, error) {
	if typ == typeEd25519 {
		return base64.StdEncoding.EncodeToString(v.signer.Public().(ed25519.PublicKey)), nil
	}
	der, err := x509.MarshalPKIXPublicKey(v.signer.Public())
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// keyInfo is the response of a key read (and of writes that return it).
func (p *policy) keyInfo() map[string]any {
	keys := map[string]any{}
	for n, v := range p.Versions {
		if n < p.MinDecryptionVersion {
			continue
		}
		k := strconv.Itoa(n)
		if !asymmetric(p.Type) {
			keys[k] = v.CreationTime.Unix()
			continue
		}
		entry := map[string]any{"creation_time": v.CreationTime.Format(time.RFC3339Nano), "name": curveName(p.Type)}
		if pub, err := publicKeyText(p.Type, v); err == nil {
			entry["public_key"] = pub
		}
		keys[k] = entry
	}
	d := map[string]any{
		"name":                   p.Name,
		"type":                   p.Type,
		"keys":                   keys,
		"derived":                p.Derived,
		"exportable":             p.Exportable,
		"allow_plaintext_backup": p.AllowPlaintextBackup,
		"deletion_allowed":       p.DeletionAllowed,
		"min_decryption_version": p.MinDecryptionVersion,
		"min_encryption_version": p.MinEncryptionVersion,
		"min_available_version":  p.MinAvailableVersion,
		"latest_version":         p.LatestVersion,
		"auto_rotate_period":     int64(p.AutoRotatePeriod / time.Second),
		"supports_encryption":    supportsEncryption(p.Type),
		"supports_decryption":    supportsEncryption(p.Type),
		"supports_derivation":    supportsDerivation(p.Type),
		"supports_signing":       supportsSigning(p.Type),
		"imported_key":           false,
	}
	if p.Type == typeHMAC {
		d["key_size"] = p.KeySize
	}
	if p.Derived {
		d["kdf"] = p.KDF
		d["convergent_encryption"] = p.ConvergentEncryption
		if p.ConvergentEncryption {
			d["convergent_encryption_version"] = p.ConvergentVersion
		}
	}
	return d
}

func curveName(typ string) string {
	switch typ {
	case typeECDSAP256:
		return "P-256"
	case typeECDSAP384:
		return "P-384"
	case typeECDSAP521:
		return "P-521"
	case typeEd25519:
		return "ed25519"
	}
	return typ
}
