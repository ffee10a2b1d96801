"""Transit through python3-hvac: every key type round trips, rotation,
rewrap, min_decryption_version, batches, HMAC and signatures."""
import base64
import os
import sys

import hvac

client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
t = client.secrets.transit


def b64(s):
    return base64.b64encode(s.encode()).decode()


def create(name, kt):
    # hvac's create_key refuses some of Vault's types (aes128-gcm96, hmac)
    # before sending; those go through the raw adapter.
    if kt in ("aes128-gcm96", "hmac"):
        client.adapter.post("/v1/transit/keys/" + name, json={"type": kt})
    else:
        t.create_key(name=name, key_type=kt)


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


for kt in ["aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "rsa-2048"]:
    create(kt, kt)
    ct = t.encrypt_data(name=kt, plaintext=b64("hello " + kt))["data"]["ciphertext"]
    check(ct.startswith("vault:v1:"), kt + " ciphertext prefix")
    pt = t.decrypt_data(name=kt, ciphertext=ct)["data"]["plaintext"]
    check(base64.b64decode(pt).decode() == "hello " + kt, kt + " round trip")

for kt in ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048"]:
    name = "sig-" + kt
    create(name, kt)
    sig = t.sign_data(name=name, hash_input=b64("msg"))["data"]["signature"]
    ok = t.verify_signed_data(name=name, hash_input=b64("msg"), signature=sig)["data"]["valid"]
    check(ok, kt + " verify")
    bad = t.verify_signed_data(name=name, hash_input=b64("other"), signature=sig)["data"]["valid"]
    check(not bad, kt + " verify other input")

create("mac", "hmac")
mac = t.generate_hmac(name="mac", hash_input=b64("data"))["data"]["hmac"]
check(t.verify_signed_data(name="mac", hash_input=b64("data"), hmac=mac)["data"]["valid"], "hmac verify")

old = t.encrypt_data(name="aes256-gcm96", plaintext=b64("old"))["data"]["ciphertext"]
t.rotate_key(name="aes256-gcm96")
check(t.read_key(name="aes256-gcm96")["data"]["latest_version"] == 2, "latest_version after rotate")
new = t.rewrap_data(name="aes256-gcm96", ciphertext=old)["data"]["ciphertext"]
check(new.startswith("vault:v2:"), "rewrap to v2")
t.update_key_configuration(name="aes256-gcm96", min_decryption_version=2)
try:
    t.decrypt_data(name="aes256-gcm96", ciphertext=old)
    check(False, "v1 decrypt after min_decryption_version=2")
except hvac.exceptions.InvalidRequest:
    pass

batch = [{"plaintext": b64(str(i))} for i in range(1000)]
res = t.encrypt_data(name="aes256-gcm96", plaintext=None, batch_input=batch)["data"]["batch_results"]
check(len(res) == 1000, "batch of 1000")
dec = t.decrypt_data(name="aes256-gcm96", ciphertext=None, batch_input=[{"ciphertext": r["ciphertext"]} for r in res])
check(base64.b64decode(dec["data"]["batch_results"][999]["plaintext"]).decode() == "999", "batch decrypt")

check(len(t.hash_data(hash_input=b64("abc"))["data"]["sum"]) == 64, "hash")
check(t.generate_random_bytes(n_bytes=16)["data"]["random_bytes"], "random")
dk = t.generate_data_key(name="aes256-gcm96", key_type="plaintext")["data"]
check(dk["plaintext"] and dk["ciphertext"], "datakey")
print("hvac transit: OK")
