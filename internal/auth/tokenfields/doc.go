// Package tokenfields holds the token settings every Tresor auth method
// shares, with Vault's names and parsing: token_ttl, token_max_ttl,
// token_explicit_max_ttl, token_period, token_policies, token_bound_cidrs,
// token_no_default_policy, token_num_uses and token_type.
//
// An auth method adds the fields to a path's schema, decodes them next to
// its own, applies them to its stored role and, at login, fills the
// logical.Auth the core mints the token from:
//
//	fields := tokenfields.AddSchema(own, "policies", "ttl") // with legacy names
//	...
//	var in tokenfields.Input
//	req.Decode(&in)
//	if err := role.Token.Apply(in); err != nil { return nil, err } // 400s
//	...
//	role.Token.FillAuth(auth)
//
// Durations are accepted as "1h" or as seconds; lists as JSON arrays or
// comma-separated strings. The legacy names (policies, ttl, max_ttl,
// period, bound_cidrs) are accepted where a method declares them and land
// in the token_ field of the same meaning; giving both spellings is an
// error, as in Vault.
package tokenfields
