"""The seeds' own hvac examples, run against a Tresor server.

The Go test sets VAULT_ADDR, VAULT_ROLE_ID and VAULT_SECRET_ID (as the
seed's .env does) and has prepared: KV v2 at secret/ holding "postgres",
a userpass user web/web with web-policy, and secret/web/app readable by it.
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


def get_vault_client():
    # devstack-core: authenticate with AppRole
    client = hvac.Client(url=os.environ["VAULT_ADDR"])
    client.auth.approle.login(
        role_id=os.environ["VAULT_ROLE_ID"],
        secret_id=os.environ["VAULT_SECRET_ID"],
    )
    return client


def get_postgres_credentials():
    client = get_vault_client()
    secret = client.secrets.kv.v2.read_secret_version(path="postgres", mount_point="secret")
    return {
        "user": secret["data"]["data"]["username"],
        "password": secret["data"]["data"]["password"],
        "database": secret["data"]["data"]["database"],
    }


creds = get_postgres_credentials()
check(creds == {"user": "app", "password": "pg-pass", "database": "appdb"}, "approle + kv v2 read: %r" % creds)

client = get_vault_client()
check(client.is_authenticated(), "approle client is authenticated")
renewed = client.auth.token.renew_self()
check(renewed["auth"]["client_token"], "renew_self answers an auth block")

# Docker walkthrough: userpass login, then an allowed and a denied read.
client = hvac.Client(url=os.environ["VAULT_ADDR"])
client.auth_userpass("web", "web")
check(client.is_authenticated(), "userpass login")
got = client.secrets.kv.v2.read_secret_version(path="web/app", mount_point="secret")
check(got["data"]["data"]["db_password"] == "password", "allowed read under secret/web/")
try:
    client.secrets.kv.v2.read_secret_version(path="postgres", mount_point="secret")
    check(False, "read outside web-policy must be forbidden")
except hvac.exceptions.Forbidden:
    passed += 1

# A bad token is an error hvac understands.
bad = hvac.Client(url=os.environ["VAULT_ADDR"], token="hvs.not-a-token")
check(not bad.is_authenticated(), "a bad token is not authenticated")

# Seal status, unauthenticated, as operators' scripts read it.
status = hvac.Client(url=os.environ["VAULT_ADDR"]).sys.read_seal_status()
check(status["sealed"] is False and status["initialized"] is True, "seal status %r" % status)

print("%d passed, 0 failed" % passed)
