package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// crlRecord is an issuer's latest CRL.
type crlRecord struct {
	Number     int64     `json:"number"`
	DER        []byte    `json:"der"`
	NextUpdate time.Time `json:"next_update"`
}

func (b *Backend) revokePaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "revoke",
			Fields: map[string]*framework.Field{
				"serial_number": {Type: framework.TypeString, Description: "Serial of the certificate to revoke (colon or hyphen form)."},
				"certificate":   {Type: framework.TypeString, Description: "PEM certificate to revoke, instead of the serial."},
			},
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.revokeHandler},
			Synopsis:   "Revoke a certificate and rebuild its issuer's CRL.",
		},
		{
			Pattern:    "crl/rotate",
			Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.rotateCRL, logical.UpdateOperation: b.rotateCRL},
			Synopsis:   "Rebuild every issuer's CRL.",
		},
	}
}

func (b *Backend) revokeHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Serial      string `field:"serial_number"`
		Certificate string `field:"certificate"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	var der []byte
	switch {
	case in.Serial != "" && in.Certificate != "":
		return nil, logical.InvalidRequest("must provide either the certificate or the serial to revoke; not both")
	case in.Serial != "":
		var err error
		if der, _, err = loadCert(ctx, req.Storage, in.Serial); err != nil {
			return nil, err
		}
		if der == nil {
			return nil, logical.InvalidRequest("certificate with serial %s not found", in.Serial)
		}
	case in.Certificate != "":
		if der = pemBlock(in.Certificate, "CERTIFICATE"); der == nil {
			return nil, logical.InvalidRequest("certificate contains no data")
		}
	default:
		return nil, logical.InvalidRequest("the serial number or certificate to revoke must be provided")
	}
	rev, err := b.revoke(ctx, req.Storage, der)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"revocation_time":         rev.RevocationTime,
		"revocation_time_rfc3339": time.Unix(rev.RevocationTime, 0).UTC().Format(time.RFC3339Nano),
		"state":                   "revoked",
	}}, nil
}

// revoke records the certificate as revoked (once) and rebuilds the CRL
// of the issuer that signed it.
func (b *Backend) revoke(ctx context.Context, s storage.Store, der []byte) (*revokedRecord, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, logical.InvalidRequest("certificate could not be parsed")
	}
	st, err := b.loadState(ctx, s)
	if err != nil {
		return nil, err
	}
	var signer *issuer
	for _, is := range st.issuers {
		if string(is.cert.Raw) == string(cert.Raw) {
			return nil, logical.InvalidRequest("adding issuer (id: %s) to its own CRL is not allowed", is.ID)
		}
		if cert.CheckSignatureFrom(is.cert) == nil {
			signer = is
		}
	}
	if signer == nil {
		return nil, logical.InvalidRequest("certificate was not issued by any issuer of this mount")
	}
	serial := storageSerialOf(cert.SerialNumber)
	var rev revokedRecord
	err = s.Update(ctx, func(tx storage.Tx) error {
		if ok, err := getJSON(ctx, tx, revokedPrefix+serial, &rev); err != nil || ok {
			return err
		}
		rev = revokedRecord{Serial: serial, RevocationTime: b.now().Unix(), IssuerID: signer.ID, NotAfter: cert.NotAfter.Unix()}
		if err := putJSON(ctx, tx, revokedPrefix+serial, rev); err != nil {
			return err
		}
		// A certificate revoked by value is kept, so cert/<serial> shows it.
		if _, err := tx.Get(ctx, certKey(serial)); err != nil {
			return tx.Put(ctx, &storage.Entry{Key: certKey(serial), Value: der})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.buildCRLs(ctx, s, signer.ID); err != nil {
		return nil, err
	}
	return &rev, nil
}

func (b *Backend) rotateCRL(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	if err := b.buildCRLs(ctx, req.Storage, ""); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"success": true}}, nil
}

// buildCRLs rebuilds the CRL of one issuer (or all, for "").
func (b *Backend) buildCRLs(ctx context.Context, s storage.Store, only string) error {
	b.crlMu.Lock()
	defer b.crlMu.Unlock()
	st, err := b.loadState(ctx, s)
	if err != nil {
		return err
	}
	entries := map[string][]x509.RevocationListEntry{}
	if !st.crl.Disable {
		names, err := listNames(ctx, s, revokedPrefix)
		if err != nil {
			return err
		}
		for _, n := range names {
			var rev revokedRecord
			if ok, err := getJSON(ctx, s, revokedPrefix+n, &rev); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			if only != "" && rev.IssuerID != only {
				continue
			}
			num, ok := new(big.Int).SetString(strings.ReplaceAll(n, "-", ""), 16)
			if !ok {
				continue
			}
			entries[rev.IssuerID] = append(entries[rev.IssuerID], x509.RevocationListEntry{SerialNumber: num, RevocationTime: time.Unix(rev.RevocationTime, 0).UTC()})
		}
	}
	for id, is := range st.issuers {
		if (only != "" && id != only) || is.signer == nil || is.cert.KeyUsage&x509.KeyUsageCRLSign == 0 && is.cert.KeyUsage != 0 {
			continue
		}
		if err := b.writeCRL(ctx, s, is, entries[id], st.crl.Expiry); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) writeCRL(ctx context.Context, s storage.Store, is *issuer, entries []x509.RevocationListEntry, expiry time.Duration) error {
	var prev crlRecord
	if _, err := getJSON(ctx, s, crlPrefix+is.ID, &prev); err != nil {
		return err
	}
	now := b.now()
	tmpl := &x509.RevocationList{
		Number:                    big.NewInt(prev.Number + 1),
		ThisUpdate:                now,
		NextUpdate:                now.Add(expiry),
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, is.cert, is.signer)
	if err != nil {
		return fmt.Errorf("build CRL of issuer %s: %w", is.ID, err)
	}
	raw, err := json.Marshal(crlRecord{Number: prev.Number + 1, DER: der, NextUpdate: tmpl.NextUpdate})
	if err != nil {
		return err
	}
	return s.Put(ctx, &storage.Entry{Key: crlPrefix + is.ID, Value: raw})
}

// currentCRL returns an issuer's (default: the default issuer's) CRL,
// building it when there is none yet or it has expired.
func (b *Backend) currentCRL(ctx context.Context, s storage.Store, ref string) ([]byte, error) {
	st, err := b.loadState(ctx, s)
	if err != nil {
		return nil, err
	}
	is, err := st.resolveIssuer(ref)
	if err != nil {
		return nil, err
	}
	for range 2 {
		var rec crlRecord
		ok, err := getJSON(ctx, s, crlPrefix+is.ID, &rec)
		if err != nil {
			return nil, err
		}
		if ok && b.now().Before(rec.NextUpdate) {
			return rec.DER, nil
		}
		if err := b.buildCRLs(ctx, s, is.ID); err != nil {
			return nil, err
		}
	}
	return nil, logical.InvalidRequest("no CRL available for issuer %s", is.ID)
}

// RevokeSecret revokes the certificate behind a lease (generate_lease).
func (b *Backend) RevokeSecret(ctx context.Context, req *logical.Request, secret *logical.Secret, _ map[string]any) error {
	serial, _ := secret.InternalData["serial_number"].(string)
	if serial == "" {
		return nil
	}
	der, _, err := loadCert(ctx, req.Storage, serial)
	if err != nil || der == nil {
		return err
	}
	_, err = b.revoke(ctx, req.Storage, der)
	return err
}
