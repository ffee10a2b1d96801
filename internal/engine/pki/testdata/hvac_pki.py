"""devstack's PKI flow through python3-hvac."""
import os
import sys

import hvac

client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
pki = client.secrets.pki


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


root = pki.generate_root(type="internal", common_name="devstack Root CA", extra_params={"ttl": "87600h"})
check(root["data"]["certificate"].startswith("-----BEGIN CERTIFICATE"), "root certificate")
pki.create_or_update_role(name="reference-api", extra_params={"allowed_domains": "devstack.local", "allow_subdomains": True})
cert = pki.generate_certificate(name="reference-api", common_name="api.devstack.local")["data"]
check(cert["private_key"] and cert["serial_number"], "issue")
ca = pki.read_ca_certificate()
check(ca.startswith("-----BEGIN CERTIFICATE"), "ca/pem")
check(cert["serial_number"] in pki.list_certificates()["data"]["keys"], "certs list")
try:
    pki.generate_certificate(name="reference-api", common_name="api.example.com")
    check(False, "name outside the role")
except hvac.exceptions.InvalidRequest as e:
    check("allowed_domains" in str(e), "error names the rule")
pki.revoke_certificate(serial_number=cert["serial_number"])
crl = pki.read_crl()
check("X509 CRL" in crl, "crl/pem")
print("hvac pki: OK")
