package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) intermediatePaths() []*framework.Path {
	bundle := map[string]*framework.Field{
		"certificate": {Type: framework.TypeString, Description: "PEM certificates (and, for config/ca, private keys)."},
		"pem_bundle":  {Type: framework.TypeString, Description: "PEM certificates and private keys."},
	}
	return []*framework.Path{
		{
			Pattern:    "intermediate/generate/{exported}",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.generateIntermediate},
			Synopsis:   "Generate a key and a CSR for an intermediate CA.",
		},
		{
			Pattern:    "issuers/generate/intermediate/{exported}",
			Fields:     caFields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.generateIntermediate},
			Synopsis:   "Generate a key and a CSR for an intermediate CA.",
		},
		{
			Pattern:    "intermediate/set-signed",
			Fields:     bundle,
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.importBundle},
			Synopsis:   "Import the signed intermediate certificate (and its chain).",
		},
		{
			Pattern:    "config/ca",
			Fields:     bundle,
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.importBundle},
			Synopsis:   "Import CA certificates and their keys.",
		},
		{
			Pattern:    "issuers/import/bundle",
			Fields:     bundle,
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.importBundle},
			Synopsis:   "Import CA certificates and their keys.",
		},
		{
			Pattern:    "issuers/import/cert",
			Fields:     bundle,
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.importBundle},
			Synopsis:   "Import CA certificates.",
		},
	}
}

var oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

func (b *Backend) generateIntermediate(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in caIn
	var sin subjectIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := req.Decode(&sin); err != nil {
		return nil, err
	}
	if sin.CommonName == "" {
		return nil, logical.InvalidRequest("the common_name field is required")
	}
	n, err := parseNames(&sin)
	if err != nil {
		return nil, err
	}
	signer, key, err := b.caKey(ctx, req, &in)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{
		Subject: in.subject(n.cn), DNSNames: n.dns, EmailAddresses: n.emails, IPAddresses: n.ips, URIs: n.uris,
	}
	if in.AddBasicConstraints {
		val, err := asn1.Marshal(struct {
			IsCA bool `asn1:"optional"`
		}{true})
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidBasicConstraints, Critical: true, Value: val})
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, signer)
	if err != nil {
		return nil, logical.InvalidRequest("unable to create CSR: %v", err)
	}
	// Store the key now so set-signed can pair the certificate with it.
	if err := b.storeKey(ctx, req.Storage, key); err != nil {
		return nil, err
	}
	d := map[string]any{"csr": strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))), "key_id": key.ID}
	if sin.Format == "der" {
		d["csr"] = base64.StdEncoding.EncodeToString(der)
	}
	if in.Kind == "exported" {
		text, err := privateKeyPEM(signer, sin.PrivateKeyFormat == "pkcs8")
		if err != nil {
			return nil, err
		}
		d["private_key"] = strings.TrimSpace(text)
		d["private_key_type"] = keyTypeName(signer)
	}
	return &logical.Response{Data: d}, nil
}

// storeKey adds a key to the mount unless it is there already.
func (b *Backend) storeKey(ctx context.Context, s storage.Store, key *keyRecord) error {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, s)
	if err != nil {
		return err
	}
	if st.keys[key.ID] != nil {
		return nil
	}
	return s.Update(ctx, func(tx storage.Tx) error {
		if err := putJSON(ctx, tx, keyPrefix+key.ID, key); err != nil {
			return err
		}
		if st.defaultKey == "" {
			return putJSON(ctx, tx, keysConfigKey, defaultRef{key.ID})
		}
		return nil
	})
}

// importBundle imports the certificates (and private keys) of a PEM
// bundle as issuers, pairing each with a key of the mount that matches
// its public key. The first imported issuer with a key becomes the
// default if there is none.
func (b *Backend) importBundle(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Certificate string `field:"certificate"`
		Bundle      string `field:"pem_bundle"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	text := in.Certificate + "\n" + in.Bundle
	keysAllowed := req.Path.Pattern != "intermediate/set-signed" && req.Path.Pattern != "issuers/import/cert"
	var certs []*x509.Certificate
	var certTexts []string
	var keys []crypto.Signer
	rest := []byte(text)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, logical.InvalidRequest("certificate could not be parsed: %v", err)
			}
			certs = append(certs, c)
			certTexts = append(certTexts, certPEM(blk.Bytes))
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
			if !keysAllowed {
				return nil, logical.InvalidRequest("private keys are not accepted here; import them with issuers/import/bundle")
			}
			k, err := parsePrivateKey(string(pem.EncodeToMemory(blk)))
			if err != nil {
				return nil, logical.InvalidRequest("private key could not be parsed")
			}
			keys = append(keys, k)
		default:
			return nil, logical.InvalidRequest("unexpected PEM block of type %q", blk.Type)
		}
	}
	if len(certs) == 0 {
		return nil, logical.InvalidRequest("no certificates were found in the provided data")
	}

	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	var importedIssuers, importedKeys, existingIssuers, existingKeys []string
	mapping := map[string]any{}
	newDefault := st.defaultIssuer
	if st.issuers[newDefault] == nil {
		newDefault = ""
	}
	err = req.Storage.Update(ctx, func(tx storage.Tx) error {
		importedIssuers, importedKeys, existingIssuers, existingKeys = nil, nil, nil, nil
		for _, k := range keys {
			found := ""
			for id, s := range st.signers {
				if samePublicKey(s.Public(), k.Public()) {
					found = id
				}
			}
			if found != "" {
				existingKeys = append(existingKeys, found)
				continue
			}
			text, err := privateKeyPEM(k, true)
			if err != nil {
				return err
			}
			spec, _ := specOf(k.Public())
			rec := &keyRecord{ID: newID(), Type: spec.Type, Bits: spec.Bits, PrivateKey: text}
			if err := putJSON(ctx, tx, keyPrefix+rec.ID, rec); err != nil {
				return err
			}
			st.keys[rec.ID], st.signers[rec.ID] = rec, k
			importedKeys = append(importedKeys, rec.ID)
		}
		for i, c := range certs {
			dup := ""
			for id, is := range st.issuers {
				if string(is.cert.Raw) == string(c.Raw) {
					dup = id
				}
			}
			if dup != "" {
				existingIssuers = append(existingIssuers, dup)
				mapping[dup] = st.issuers[dup].KeyID
				continue
			}
			rec := &issuerRecord{ID: newID(), Certificate: certTexts[i], LeafNotAfterBehavior: "err",
				Usage: "read-only,issuing-certificates,crl-signing,ocsp-signing"}
			for id, s := range st.signers {
				if samePublicKey(s.Public(), c.PublicKey) {
					rec.KeyID = id
				}
			}
			if err := putJSON(ctx, tx, issuerPrefix+rec.ID, rec); err != nil {
				return err
			}
			importedIssuers = append(importedIssuers, rec.ID)
			mapping[rec.ID] = rec.KeyID
			if newDefault == "" && rec.KeyID != "" {
				newDefault = rec.ID
			}
		}
		if newDefault != st.defaultIssuer {
			if err := putJSON(ctx, tx, issuersConfigKey, defaultRef{newDefault}); err != nil {
				return err
			}
		}
		if st.defaultKey == "" && len(importedKeys) > 0 {
			return putJSON(ctx, tx, keysConfigKey, defaultRef{importedKeys[0]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"imported_issuers": nonNil(importedIssuers),
		"imported_keys":    nonNil(importedKeys),
		"existing_issuers": nonNil(existingIssuers),
		"existing_keys":    nonNil(existingKeys),
		"mapping":          mapping,
	}}, nil
}
