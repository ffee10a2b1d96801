package pki

import (
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestTidyRemovesExpired(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole()
	var shortSerials []string
	for i := range 20 {
		d := h.write("issue/web", "common_name", fmt.Sprintf("s%d.example.com", i), "ttl", "1h").Data
		shortSerials = append(shortSerials, d["serial_number"].(string))
	}
	long := h.write("issue/web", "common_name", "long.example.com", "ttl", "720h").Data["serial_number"].(string)
	h.write("revoke", "serial_number", shortSerials[0])
	h.write("revoke", "serial_number", long)

	wantErr(t, "nothing to tidy", h.writeErr("tidy"), "at least one")
	h.clock.advance(2 * time.Hour) // expired, but within the 72h safety buffer
	resp := h.write("tidy", "tidy_cert_store", true, "tidy_revoked_certs", true)
	if resp.StatusCode != 202 || len(resp.Warnings) == 0 {
		t.Errorf("tidy start: %+v", resp)
	}
	h.b.waitTidy()
	if st := h.read("tidy-status").Data; st["state"] != "Finished" || st["cert_store_deleted_count"] != 0 {
		t.Fatalf("tidy within buffer: %v", st)
	}

	h.clock.advance(72 * time.Hour)
	h.write("tidy", "tidy_cert_store", true, "tidy_revoked_certs", true)
	h.b.waitTidy()
	st := h.read("tidy-status").Data
	if st["state"] != "Finished" || st["cert_store_deleted_count"] != 20 || st["revoked_cert_deleted_count"] != 1 {
		t.Fatalf("tidy status: %v", st)
	}
	list, err := h.do(logical.ListOperation, "certs/", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := list.Data["keys"].([]string)
	// The long-lived leaf stays (the root itself is stored too).
	found := false
	for _, k := range keys {
		if k == long {
			found = true
		}
	}
	if !found || len(keys) != 2 {
		t.Errorf("after tidy: %v", keys)
	}
	// The CRL keeps the unexpired revoked certificate only.
	der, err := h.b.currentCRL(t.Context(), h.s, "")
	if err != nil {
		t.Fatal(err)
	}
	crl, _ := x509.ParseRevocationList(der)
	if len(crl.RevokedCertificateEntries) != 1 || serialText(crl.RevokedCertificateEntries[0].SerialNumber) != long {
		t.Errorf("CRL after tidy: %+v", crl.RevokedCertificateEntries)
	}
}
