package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathExport() *framework.Path {
	return &framework.Path{
		Pattern:    "export/{type}/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.exportHandler},
		Synopsis:   "Export every version of an exportable key.",
	}
}

func (b *Backend) pathExportVersion() *framework.Path {
	return &framework.Path{
		Pattern:    "export/{type}/{name}/{version}",
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.exportHandler},
		Synopsis:   "Export one version (or \"latest\") of an exportable key.",
	}
}

func (b *Backend) exportHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	kind, name, ver := req.Param("type"), req.Param("name"), req.Param("version")
	switch kind {
	case "encryption-key", "signing-key", "hmac-key", "public-key":
	default:
		return nil, logical.InvalidRequest("invalid export type: %s", kind)
	}
	p, err := b.key(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, nil
	}
	if kind != "public-key" && !p.Exportable {
		return nil, logical.InvalidRequest("private key material is not exportable")
	}
	switch {
	case kind == "encryption-key" && !supportsEncryption(p.Type):
		return nil, logical.InvalidRequest("encryption not supported for the key")
	case kind == "signing-key" && !supportsSigning(p.Type):
		return nil, logical.InvalidRequest("signing not supported for the key")
	case kind == "public-key" && !asymmetric(p.Type):
		return nil, logical.InvalidRequest("public key not available for key type %s", p.Type)
	}
	keys := map[string]string{}
	add := func(n int) error {
		v := p.Versions[n]
		if v == nil || n < p.MinDecryptionVersion {
			return logical.InvalidRequest("version %d is not available for export", n)
		}
		s, err := exportText(p, kind, v)
		if err != nil {
			return err
		}
		keys[strconv.Itoa(n)] = s
		return nil
	}
	switch ver {
	case "":
		for n := range p.Versions {
			if n >= p.MinDecryptionVersion {
				if err := add(n); err != nil {
					return nil, err
				}
			}
		}
	case "latest":
		if err := add(p.LatestVersion); err != nil {
			return nil, err
		}
	default:
		n, err := strconv.Atoi(ver)
		if err != nil {
			return nil, logical.InvalidRequest("invalid key version %q", ver)
		}
		if err := add(n); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: map[string]any{"name": p.Name, "type": p.Type, "keys": keys}}, nil
}

// exportText is one version's key as Vault exports it: base64 for
// symmetric and HMAC keys and Ed25519 private keys, PEM for ECDSA (SEC 1)
// and RSA (PKCS #1) private keys, PEM PKIX (base64 for Ed25519) for public keys.
func exportText(p *policy, kind string, v *version) (string, error) {
	switch kind {
	case "hmac-key":
		return base64.StdEncoding.EncodeToString(p.hmacKey(v)), nil
	case "public-key":
		return publicKeyText(p.Type, v)
	}
	if symmetric(p.Type) {
		return base64.StdEncoding.EncodeToString(v.Key), nil
	}
	switch k := v.signer.(type) {
	case ed25519.PrivateKey:
		return base64.StdEncoding.EncodeToString(k), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), nil
	}
	return "", logical.InvalidRequest("unknown key type %s", p.Type)
}
