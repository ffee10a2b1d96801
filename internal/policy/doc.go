// Package policy implements Vault's ACL policies: the HCL/JSON policy
// language, ACLs compiled from sets of policies, and the policy store.
//
// A policy is a list of path rules:
//
//	path "secret/data/app/*" {
//	  capabilities = ["create", "read", "update"]
//	  allowed_parameters = { "env" = ["dev-*"] }
//	}
//	path "secret/+/shared" { capabilities = ["read"] }
//	path "sys/seal"        { policy = "sudo" }   # legacy form
//
// Parse reads one (HCL or JSON) and reports mistakes as *ParseError with
// the line and column at fault; Policy.String prints the canonical HCL form.
//
// NewACL compiles policies once; ACL.Allowed then answers each request
// without parsing or, for exact and prefix hits, allocating:
//
//	acl, _ := policy.NewACL(p1, p2)
//	d := acl.Allowed(logical.UpdateOperation, "secret/data/app/x", req.Data, req.WrapTTL)
//	if !d.Allowed { return logical.ErrPermissionDenied }
//
// Matching follows Vault. An exact rule wins; otherwise the most specific of
// the longest "*" prefix rule and the matching "+" rules wins (later first
// wildcard, then no trailing "*", fewer "+", longer, lexically larger).
// Rules for the same path are merged across policies: capabilities are
// united but a deny anywhere leaves only deny. A list of "a/b/" falls back
// to the rule for "a/b".
//
// Paths may hold {{identity.entity.id}}, {{identity.entity.name}},
// {{identity.entity.metadata.KEY}} and
// {{identity.entity.aliases.ACCESSOR.name}}; Policy.Render fills them in for
// an Entity and drops any rule whose value is missing or could widen it.
//
// Store keeps policies under "policy/<name>" in a storage.Store, with the
// built-in root (allow everything; immutable) and default (editable, not
// deletable) policies, and caches compiled ACLs per set of policy names.
// Names are trimmed and lower-cased everywhere.
package policy
