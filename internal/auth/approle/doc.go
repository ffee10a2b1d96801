// Package approle is the AppRole auth method: machines log in with a role
// ID (which names the role) and, by default, a secret ID issued for it.
//
// Mounted at auth/approle/, it serves
//
//	role/<name>                                 create, update, read, delete a role (LIST role)
//	role/<name>/role-id                         read the role ID; POST sets a custom one
//	role/<name>/secret-id                       POST issues a secret ID; LIST gives their accessors
//	role/<name>/custom-secret-id                POST registers a secret ID chosen by the caller
//	role/<name>/secret-id/lookup                POST {secret_id}: its properties
//	role/<name>/secret-id/destroy               POST or DELETE {secret_id}
//	role/<name>/secret-id-accessor/lookup       POST {secret_id_accessor}
//	role/<name>/secret-id-accessor/destroy      POST or DELETE {secret_id_accessor}
//	login                                       {role_id, secret_id} → an auth block
//	tidy/secret-id                              POST removes expired secret IDs
//
// Secret IDs are never stored: only an HMAC of each, keyed by a random
// salt the mount keeps in its own storage. Each secret ID has an accessor,
// which names it for lookup and destruction without revealing it. An
// accessor is only ever resolved through the role it belongs to: another
// role's path answers as if it did not exist.
//
// Every login failure about the credentials themselves (unknown role ID,
// unknown, expired or used-up secret ID) answers 400 "invalid role or
// secret ID". A secret ID's use count is checked and decremented in the
// same storage transaction, so a single-use secret ID logs in exactly once
// however many logins race for it. CIDR restrictions (the role's
// secret_id_bound_cidrs, the secret ID's cidr_list) are enforced before a
// use is spent; token_bound_cidrs go to the token.
package approle
