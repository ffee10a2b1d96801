// Package jwt is the JWT auth method (mountable as "jwt" and "oidc"): a
// workload logs in with a JSON Web Token signed by a key the method trusts
// and gets a token with its role's policies.
//
//	tresor auth enable jwt
//	tresor write auth/jwt/config jwt_validation_pubkeys=@issuer.pem bound_issuer=https://ci.example
//	tresor write auth/jwt/role/deploy role_type=jwt user_claim=sub \
//	    bound_audiences=tresor bound_claims='{"/repo/env":"prod-*"}' bound_claims_type=glob \
//	    claim_mappings=repo=repository token_policies=deploy
//	tresor write auth/jwt/login role=deploy jwt=@token.jwt
//
// Keys come from exactly one of jwt_validation_pubkeys (PEM RSA, ECDSA or
// Ed25519 public keys or certificates), jwks_url (a JWKS, fetched, cached,
// and fetched again when a token names an unknown kid) or
// oidc_discovery_url (the JWKS named by the issuer's discovery document).
// Only asymmetric signatures are accepted: never "none", never HMAC, so a
// public key can never be used as a shared secret.
//
// A login checks, in this order, the signature, the algorithm, iss
// (bound_issuer), sub (bound_subject), aud (bound_audiences), exp/nbf/iat
// with the role's leeways, then user_claim, claim_mappings, groups_claim
// and bound_claims (names or JSON pointers, exact or glob). Every failure
// is a 400 in Vault's words, and none says which key would have verified
// the token. The user_claim value becomes the identity entity alias on
// this mount; the groups_claim values are matched to external group
// aliases; mapped claims go into both the token and the alias metadata.
//
// The interactive OIDC browser flow (auth_url, callback) is not
// implemented: roles of role_type "oidc" can be stored but not logged in
// with.
package jwt
