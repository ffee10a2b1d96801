"""hvac's JWT login against a Tresor server.

The Go test sets VAULT_ADDR, VAULT_JWT (a token signed by the key the jwt
mount trusts, for role "svc") and VAULT_BAD_JWT (one signed by another
key), and has prepared secret/svc readable by the role's policy.
Prints "N passed, 0 failed" and exits non-zero on the first failure.
"""
import os
import sys

import hvac

passed = 0


def check(cond, what):
    global passed
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    passed += 1


client = hvac.Client(url=os.environ["VAULT_ADDR"])
resp = client.auth.jwt.jwt_login(role="svc", jwt=os.environ["VAULT_JWT"])
check(resp["auth"]["client_token"], "jwt_login answers an auth block")
check(resp["auth"]["metadata"]["role"] == "svc", "metadata %r" % resp["auth"]["metadata"])
check(client.is_authenticated(), "jwt client is authenticated")
got = client.secrets.kv.v2.read_secret_version(path="svc", mount_point="secret")
check(got["data"]["data"]["password"] == "svc-pass", "read with the jwt token")
me = client.auth.token.lookup_self()
check(me["data"]["entity_id"], "the token has an entity")

try:
    hvac.Client(url=os.environ["VAULT_ADDR"]).auth.jwt.jwt_login(role="svc", jwt=os.environ["VAULT_BAD_JWT"])
    check(False, "a token signed by another key must be refused")
except hvac.exceptions.InvalidRequest as e:
    check("no known key successfully validated the token signature" in str(e), "refusal wording: %s" % e)

print("%d passed, 0 failed" % passed)
