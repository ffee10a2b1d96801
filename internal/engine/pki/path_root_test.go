package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestRootGenerate(t *testing.T) {
	h := newHarness(t)
	wantErr(t, "no cn", h.writeErr("root/generate/internal"), "common_name")
	wantErr(t, "kms", h.writeErr("root/generate/kms", "common_name", "x"), "managed keys")
	d := h.write("root/generate/exported", "common_name", "Root", "key_type", "rsa", "key_bits", 2048, "ttl", "100000h", "organization", "Devstack", "max_path_length", 1).Data
	if !strings.Contains(d["private_key"].(string), "RSA PRIVATE KEY") || d["private_key_type"] != "rsa" {
		t.Errorf("exported key: %v", d["private_key_type"])
	}
	c := cert(t, d["certificate"])
	if !c.IsCA || c.MaxPathLen != 1 || c.Subject.Organization[0] != "Devstack" || c.KeyUsage&x509.KeyUsageCertSign == 0 || len(c.SubjectKeyId) == 0 {
		t.Errorf("root: %+v", c)
	}
	if got := c.NotAfter.Sub(h.clock.now()); got > 87600*time.Hour+time.Minute {
		t.Errorf("ttl not capped at the mount max: %v", got)
	}
	if d["issuer_id"] == "" || d["key_id"] == "" {
		t.Errorf("ids: %v %v", d["issuer_id"], d["key_id"])
	}
	// A second root is another issuer; the default stays.
	second := h.write("root/generate/internal", "common_name", "Root 2", "key_type", "ec", "issuer_name", "second")
	if _, ok := second.Data["private_key"]; ok {
		t.Error("internal root returned its key")
	}
	if def := h.read("config/issuers").Data["default"]; def != d["issuer_id"] {
		t.Errorf("default moved to %v", def)
	}
	h.write("config/issuers", "default", "second")
	if cn := cert(t, h.read("cert/ca").Data["certificate"]).Subject.CommonName; cn != "Root 2" {
		t.Errorf("default issuer after switch: %s", cn)
	}
	// existing: a new issuer on the first key.
	ex := h.write("root/generate/existing", "common_name", "Root 1b", "key_ref", d["key_id"]).Data
	if ex["key_id"] != d["key_id"] {
		t.Errorf("existing key: %v vs %v", ex["key_id"], d["key_id"])
	}
	list, _ := h.do(logical.ListOperation, "issuers/", nil)
	if n := len(list.Data["keys"].([]string)); n != 3 {
		t.Errorf("issuers: %d", n)
	}
	wantErr(t, "delete used key", func() error { _, err := h.do(logical.DeleteOperation, "key/"+d["key_id"].(string), nil); return err }(), "in use")
	if _, err := h.do(logical.DeleteOperation, "root", nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := h.do(logical.ListOperation, "issuers/", nil); l != nil {
		t.Errorf("issuers after delete root: %v", l.Data)
	}
}

func TestIssuerAndKeyManagement(t *testing.T) {
	h := newHarness(t)
	d := h.write("root/generate/internal", "common_name", "Root", "key_type", "ec", "key_name", "rk").Data
	id := d["issuer_id"].(string)
	h.write("issuer/"+id, "issuer_name", "main")
	if got := h.read("issuer/main").Data; got["issuer_id"] != id || got["issuer_name"] != "main" {
		t.Errorf("issuer by name: %v", got)
	}
	wantErr(t, "reserved", h.writeErr("issuer/main", "issuer_name", "default"), "reserved")
	wantErr(t, "behavior", h.writeErr("issuer/main", "leaf_not_after_behavior", "maybe"), "leaf_not_after_behavior")
	if k := h.read("key/rk").Data; k["key_type"] != "ec" || k["key_bits"] != 256 {
		t.Errorf("key: %v", k)
	}
	pemResp := h.read("issuer/main/pem")
	if !strings.HasPrefix(string(pemResp.RawBody), "-----BEGIN CERTIFICATE") {
		t.Errorf("issuer pem: %q", pemResp.RawBody)
	}
	resp, _ := h.do(logical.DeleteOperation, "issuer/main", nil)
	if resp == nil || len(resp.Warnings) == 0 {
		t.Error("deleting the default issuer should warn")
	}
	h.write("roles/web", "allowed_domains", "example.com", "allow_subdomains", true)
	wantErr(t, "no issuer", h.writeErr("issue/web", "common_name", "a.example.com"), "no default issuer")
}

func TestImportBundleAndSelfIssued(t *testing.T) {
	// An outside CA, imported with its key through config/ca.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Outside CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(1000 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalECPrivateKey(key)
	bundle := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))

	h := newHarness(t)
	wantErr(t, "keys on set-signed", h.writeErr("intermediate/set-signed", "certificate", bundle), "not accepted")
	d := h.write("config/ca", "pem_bundle", bundle).Data
	if len(d["imported_issuers"].([]string)) != 1 || len(d["imported_keys"].([]string)) != 1 {
		t.Fatalf("import: %v", d)
	}
	again := h.write("config/ca", "pem_bundle", bundle).Data
	if len(again["existing_issuers"].([]string)) != 1 || len(again["imported_issuers"].([]string)) != 0 {
		t.Errorf("re-import: %v", again)
	}
	h.write("roles/web", "allowed_domains", "example.com", "allow_subdomains", true, "key_type", "ec", "ttl", "1h")
	leaf := cert(t, h.write("issue/web", "common_name", "a.example.com").Data["certificate"])
	ca, _ := x509.ParseCertificate(der)
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by the imported CA: %v", err)
	}

	// Cross-sign another self-issued CA.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otmpl := *tmpl
	otmpl.Subject.CommonName = "Other CA"
	oder, _ := x509.CreateCertificate(rand.Reader, &otmpl, &otmpl, &other.PublicKey, other)
	out := h.write("root/sign-self-issued", "certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: oder}))).Data
	cross := cert(t, out["certificate"])
	if err := cross.CheckSignatureFrom(ca); err != nil || cross.Subject.CommonName != "Other CA" {
		t.Errorf("cross-signed: %v %v", cross.Subject, err)
	}
	wantErr(t, "not self-issued", h.writeErr("root/sign-self-issued", "certificate", out["certificate"]), "not self-issued")
}

func TestGenerateLeaseRevokes(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole("generate_lease", true)
	resp := h.write("issue/web", "common_name", "a.example.com", "ttl", "1h")
	if resp.Secret == nil || resp.Secret.TTL <= 0 {
		t.Fatalf("no lease: %+v", resp.Secret)
	}
	err := h.b.RevokeSecret(t.Context(), &logical.Request{Storage: h.s}, resp.Secret, resp.Data)
	if err != nil {
		t.Fatal(err)
	}
	if rt := h.read("cert/" + resp.Data["serial_number"].(string)).Data["revocation_time"]; rt == int64(0) {
		t.Error("lease revocation did not revoke the certificate")
	}
}

func TestConfigURLsAndCRL(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole()
	wantErr(t, "bad url", h.writeErr("config/urls", "issuing_certificates", "not a url"), "invalid URL")
	h.write("config/urls", "issuing_certificates", "http://127.0.0.1:8200/v1/pki/ca", "crl_distribution_points", "http://127.0.0.1:8200/v1/pki/crl")
	c := cert(t, h.write("issue/web", "common_name", "a.example.com").Data["certificate"])
	if len(c.IssuingCertificateURL) != 1 || len(c.CRLDistributionPoints) != 1 {
		t.Errorf("AIA: %v %v", c.IssuingCertificateURL, c.CRLDistributionPoints)
	}
	if got := h.read("config/urls").Data["crl_distribution_points"].([]string); len(got) != 1 {
		t.Errorf("read urls: %v", got)
	}
	h.write("config/crl", "expiry", "24h")
	if got := h.read("config/crl").Data["expiry"]; got != "24h0m0s" {
		t.Errorf("crl expiry: %v", got)
	}
	der, err := h.b.currentCRL(t.Context(), h.s, "")
	if err != nil {
		t.Fatal(err)
	}
	crl, _ := x509.ParseRevocationList(der)
	if d := crl.NextUpdate.Sub(crl.ThisUpdate); d != 24*time.Hour {
		t.Errorf("CRL validity %v", d)
	}
	// An expired CRL is rebuilt when fetched.
	h.clock.advance(25 * time.Hour)
	der2, _ := h.b.currentCRL(t.Context(), h.s, "")
	crl2, _ := x509.ParseRevocationList(der2)
	if crl2.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("stale CRL served: %v <= %v", crl2.Number, crl.Number)
	}
	wantErr(t, "revoke a CA", h.writeErr("revoke", "certificate", h.read("cert/ca").Data["certificate"]), "its own CRL")
}
