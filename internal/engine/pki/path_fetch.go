package pki

import (
	"context"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) fetchPaths() []*framework.Path {
	read := func(pattern string, h framework.Handler, syn string) *framework.Path {
		return &framework.Path{Pattern: pattern, Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: h}, Synopsis: syn}
	}
	return []*framework.Path{
		read("ca", b.rawCA(false), "The default issuer's certificate, DER."),
		read("ca/pem", b.rawCA(true), "The default issuer's certificate, PEM."),
		read("ca_chain", b.rawChain, "The default issuer's chain, PEM."),
		read("cert/ca_chain", b.jsonChain, "The default issuer's chain."),
		read("cert/{serial}", b.readCert, "A certificate by serial number (or ca, crl)."),
		read("cert/{serial}/raw", b.readCertRaw, "A certificate by serial number, DER."),
		read("cert/{serial}/raw/pem", b.readCertRawPEM, "A certificate by serial number, PEM."),
		read("crl", b.rawCRL(false), "The default issuer's CRL, DER."),
		read("crl/pem", b.rawCRL(true), "The default issuer's CRL, PEM."),
		{
			Pattern:    "certs",
			Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listCerts},
			Synopsis:   "List the serial numbers of stored certificates.",
		},
		{
			Pattern:    "certs/revoked",
			Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.listRevoked},
			Synopsis:   "List the serial numbers of revoked certificates.",
		},
	}
}

func (b *Backend) defaultIssuer(ctx context.Context, req *framework.Request) (*issuer, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return st.resolveIssuer("default")
}

func rawResponse(body []byte, contentType string) *logical.Response {
	return &logical.Response{RawBody: body, RawContentType: contentType}
}

func (b *Backend) rawCA(asPEM bool) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		is, err := b.defaultIssuer(ctx, req)
		if err != nil {
			return rawResponse([]byte{}, "application/pkix-cert"), nil
		}
		if asPEM {
			return rawResponse([]byte(strings.TrimSpace(is.Certificate)+"\n"), "application/pem-certificate-chain"), nil
		}
		return rawResponse(is.cert.Raw, "application/pkix-cert"), nil
	}
}

func chainText(is *issuer) string {
	parts := make([]string, len(is.chain))
	for i, c := range is.chain {
		parts[i] = strings.TrimSpace(c)
	}
	return strings.Join(parts, "\n") + "\n"
}

func (b *Backend) rawChain(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	is, err := b.defaultIssuer(ctx, req)
	if err != nil {
		return rawResponse([]byte{}, "application/pem-certificate-chain"), nil
	}
	return rawResponse([]byte(chainText(is)), "application/pem-certificate-chain"), nil
}

func (b *Backend) jsonChain(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	is, err := b.defaultIssuer(ctx, req)
	if err != nil {
		return nil, err
	}
	c := chainText(is)
	return &logical.Response{Data: map[string]any{"certificate": c, "ca_chain": c, "revocation_time": 0, "revocation_time_rfc3339": ""}}, nil
}

// loadCert finds a stored certificate by serial (colon or hyphen form).
func loadCert(ctx context.Context, r storage.Reader, serial string) ([]byte, string, error) {
	s, ok := storageSerial(serial)
	if !ok {
		return nil, "", logical.InvalidRequest("invalid serial number %q", serial)
	}
	e, err := r.Get(ctx, certKey(s))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, s, nil
	}
	if err != nil {
		return nil, s, err
	}
	return e.Value, s, nil
}

func (b *Backend) readCert(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	serial := req.Param("serial")
	switch serial {
	case "ca":
		is, err := b.defaultIssuer(ctx, req)
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: map[string]any{"certificate": strings.TrimSpace(is.Certificate), "revocation_time": 0, "revocation_time_rfc3339": "", "issuer_id": is.ID}}, nil
	case "crl":
		der, err := b.currentCRL(ctx, req.Storage, "")
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: map[string]any{"certificate": strings.TrimSpace(crlPEM(der)), "revocation_time": 0, "revocation_time_rfc3339": ""}}, nil
	}
	der, s, err := loadCert(ctx, req.Storage, serial)
	if err != nil || der == nil {
		return nil, err
	}
	d := map[string]any{"certificate": strings.TrimSpace(certPEM(der)), "revocation_time": int64(0), "revocation_time_rfc3339": ""}
	var rev revokedRecord
	if ok, err := getJSON(ctx, req.Storage, revokedPrefix+s, &rev); err != nil {
		return nil, err
	} else if ok {
		d["revocation_time"] = rev.RevocationTime
		d["revocation_time_rfc3339"] = time.Unix(rev.RevocationTime, 0).UTC().Format(time.RFC3339Nano)
		d["issuer_id"] = rev.IssuerID
	}
	return &logical.Response{Data: d}, nil
}

func (b *Backend) readCertRaw(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	der, _, err := loadCert(ctx, req.Storage, req.Param("serial"))
	if err != nil || der == nil {
		return nil, err
	}
	return rawResponse(der, "application/pkix-cert"), nil
}

func (b *Backend) readCertRawPEM(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	der, _, err := loadCert(ctx, req.Storage, req.Param("serial"))
	if err != nil || der == nil {
		return nil, err
	}
	return rawResponse([]byte(certPEM(der)), "application/pem-certificate-chain"), nil
}

// listCerts walks the certificate buckets one at a time.
func (b *Backend) listCerts(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var keys []string
	err := eachCertBucket(ctx, req.Storage, func(serials []string) error {
		for _, s := range serials {
			keys = append(keys, strings.ReplaceAll(s, "-", ":"))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

// eachCertBucket calls fn with the stored serials of each bucket in turn,
// so no caller holds every serial at once.
func eachCertBucket(ctx context.Context, r storage.Reader, fn func(serials []string) error) error {
	buckets, err := r.List(ctx, certPrefix)
	if err != nil {
		return err
	}
	for _, bucket := range buckets {
		if !strings.HasSuffix(bucket, "/") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		serials, err := listNames(ctx, r, certPrefix+bucket)
		if err != nil {
			return err
		}
		if err := fn(serials); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) listRevoked(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	names, err := listNames(ctx, req.Storage, revokedPrefix)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	for i, n := range names {
		names[i] = strings.ReplaceAll(n, "-", ":")
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func crlPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

func (b *Backend) rawCRL(asPEM bool) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		der, err := b.currentCRL(ctx, req.Storage, "")
		if err != nil {
			return nil, err
		}
		if asPEM {
			return rawResponse([]byte(crlPEM(der)), "application/x-pem-file"), nil
		}
		return rawResponse(der, "application/pkix-crl"), nil
	}
}
