package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Storage layout of a mount (all inside the barrier):
//
//	issuer/<id>              issuerRecord
//	key/<id>                 keyRecord
//	config/issuers           {"default": id}
//	config/keys              {"default": id}
//	config/urls, config/crl  settings
//	role/<name>              role
//	certs/<xx>/<serial>      DER of an issued certificate; xx is the
//	                         serial's first byte, so tidy walks one
//	                         bucket at a time
//	revoked/<serial>         revokedRecord
//	crl/<issuer id>          crlRecord: the latest CRL
const (
	issuerPrefix  = "issuer/"
	keyPrefix     = "key/"
	certPrefix    = "certs/"
	revokedPrefix = "revoked/"
	crlPrefix     = "crl/"
	rolePrefix    = "role/"

	issuersConfigKey = "config/issuers"
	keysConfigKey    = "config/keys"
	urlsConfigKey    = "config/urls"
	crlConfigKey     = "config/crl"
	tidyStatusKey    = "config/tidy-status"
)

type issuerRecord struct {
	ID                   string `json:"issuer_id"`
	Name                 string `json:"issuer_name"`
	KeyID                string `json:"key_id"`
	Certificate          string `json:"certificate"`
	LeafNotAfterBehavior string `json:"leaf_not_after_behavior"`
	Usage                string `json:"usage"`
}

type keyRecord struct {
	ID         string `json:"key_id"`
	Name       string `json:"key_name"`
	Type       string `json:"key_type"`
	Bits       int    `json:"key_bits"`
	PrivateKey string `json:"private_key"`
}

type revokedRecord struct {
	Serial         string `json:"serial_number"`
	RevocationTime int64  `json:"revocation_time"`
	IssuerID       string `json:"issuer_id"`
	NotAfter       int64  `json:"not_after"`
}

type defaultRef struct {
	Default string `json:"default"`
}

// issuer is a loaded issuer: its certificate parsed, its key (if this
// mount holds it) and its chain up to a root.
type issuer struct {
	issuerRecord
	cert   *x509.Certificate
	signer crypto.Signer
	// chain is the issuer's certificate followed by its parents', PEM.
	chain []string
}

// caState is every issuer and key of the mount, loaded once and shared
// by concurrent requests; writers replace it (see Backend.invalidate).
type caState struct {
	issuers       map[string]*issuer
	keys          map[string]*keyRecord
	signers       map[string]crypto.Signer
	defaultIssuer string
	defaultKey    string
	urls          *urlsConfig
	crl           crlConfig
	gen           uint64 // Backend.gen when loading began
}

func getJSON(ctx context.Context, r storage.Reader, key string, v any) (bool, error) {
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %q: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, w storage.Writer, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.Put(ctx, &storage.Entry{Key: key, Value: raw})
}

func listNames(ctx context.Context, r storage.Reader, prefix string) ([]string, error) {
	names, err := r.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			out = append(out, n)
		}
	}
	return out, nil
}

// loadState reads every issuer and key from storage.
func loadState(ctx context.Context, r storage.Reader) (*caState, error) {
	st := &caState{issuers: map[string]*issuer{}, keys: map[string]*keyRecord{}, signers: map[string]crypto.Signer{}}
	keyIDs, err := listNames(ctx, r, keyPrefix)
	if err != nil {
		return nil, err
	}
	for _, id := range keyIDs {
		var k keyRecord
		if ok, err := getJSON(ctx, r, keyPrefix+id, &k); err != nil || !ok {
			return nil, err
		}
		s, err := parsePrivateKey(k.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		st.keys[id] = &k
		st.signers[id] = s
	}
	ids, err := listNames(ctx, r, issuerPrefix)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		var rec issuerRecord
		if ok, err := getJSON(ctx, r, issuerPrefix+id, &rec); err != nil || !ok {
			return nil, err
		}
		cert, err := parseCertPEM(rec.Certificate)
		if err != nil {
			return nil, fmt.Errorf("issuer %s: %w", id, err)
		}
		st.issuers[id] = &issuer{issuerRecord: rec, cert: cert, signer: st.signers[rec.KeyID]}
	}
	for _, is := range st.issuers {
		is.chain = st.buildChain(is)
	}
	var d defaultRef
	if _, err := getJSON(ctx, r, issuersConfigKey, &d); err != nil {
		return nil, err
	}
	st.defaultIssuer = d.Default
	d = defaultRef{}
	if _, err := getJSON(ctx, r, keysConfigKey, &d); err != nil {
		return nil, err
	}
	st.defaultKey = d.Default
	var urls urlsConfig
	if ok, err := getJSON(ctx, r, urlsConfigKey, &urls); err != nil {
		return nil, err
	} else if ok {
		st.urls = &urls
	}
	st.crl = defaultCRLConfig()
	if _, err := getJSON(ctx, r, crlConfigKey, &st.crl); err != nil {
		return nil, err
	}
	return st, nil
}

// buildChain follows is up through the issuers that signed it.
func (st *caState) buildChain(is *issuer) []string {
	chain := []string{is.Certificate}
	cur := is
	for range len(st.issuers) {
		if isSelfSigned(cur.cert) {
			break
		}
		var parent *issuer
		for _, cand := range st.issuers {
			if cand != cur && cur.cert.CheckSignatureFrom(cand.cert) == nil {
				parent = cand
				break
			}
		}
		if parent == nil {
			break
		}
		chain = append(chain, parent.Certificate)
		cur = parent
	}
	return chain
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// resolveIssuer finds an issuer by "default", name or ID.
func (st *caState) resolveIssuer(ref string) (*issuer, error) {
	if ref == "" || ref == "default" {
		if is := st.issuers[st.defaultIssuer]; is != nil {
			return is, nil
		}
		return nil, logical.InvalidRequest("no default issuer currently configured")
	}
	if is := st.issuers[ref]; is != nil {
		return is, nil
	}
	for _, is := range st.issuers {
		if is.Name != "" && is.Name == ref {
			return is, nil
		}
	}
	return nil, logical.InvalidRequest("unable to find PKI issuer for reference: %s", ref)
}

// resolveKey finds a key by "default", name or ID.
func (st *caState) resolveKey(ref string) (*keyRecord, error) {
	if ref == "" || ref == "default" {
		if k := st.keys[st.defaultKey]; k != nil {
			return k, nil
		}
		return nil, logical.InvalidRequest("no default key currently configured")
	}
	if k := st.keys[ref]; k != nil {
		return k, nil
	}
	for _, k := range st.keys {
		if k.Name != "" && k.Name == ref {
			return k, nil
		}
	}
	return nil, logical.InvalidRequest("unable to find PKI key for reference: %s", ref)
}

func parseCertPEM(text string) (*x509.Certificate, error) {
	blk, _ := pem.Decode([]byte(text))
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func certPEM(der []byte) string { return pemText("CERTIFICATE", der) }

// pemText is string(pem.EncodeToMemory) of a block without headers,
// written in one allocation of the exact size: "-----BEGIN typ-----",
// the base64 of der in lines of 64 characters, "-----END typ-----", each
// line ending in a newline. (An issue writes two, and pem's encoder
// allocated a 1 KiB buffer and grew its output for each.)
func pemText(typ string, der []byte) string {
	const lineBytes = 48 // 64 base64 characters
	enc := base64.StdEncoding
	n := len("-----BEGIN -----\n") + len(typ) + enc.EncodedLen(len(der)) + (len(der)+lineBytes-1)/lineBytes + len("-----END -----\n") + len(typ)
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString("-----BEGIN ")
	sb.WriteString(typ)
	sb.WriteString("-----\n")
	var line [64]byte
	for len(der) > 0 {
		chunk := der[:min(lineBytes, len(der))]
		der = der[len(chunk):]
		enc.Encode(line[:], chunk)
		sb.Write(line[:enc.EncodedLen(len(chunk))])
		sb.WriteByte('\n')
	}
	sb.WriteString("-----END ")
	sb.WriteString(typ)
	sb.WriteString("-----\n")
	return sb.String()
}

// certKey is where a certificate is stored, by its hyphenated serial.
func certKey(serial string) string {
	return certPrefix + serial[:2] + "/" + serial
}

// pemBlock returns the DER of the first PEM block of one of types.
func pemBlock(text string, types ...string) []byte {
	rest := []byte(text)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil
		}
		for _, t := range types {
			if blk.Type == t {
				return blk.Bytes
			}
		}
	}
}
