package policy

// defaultText is the built-in default policy, attached to every token
// unless it is created without it. Operators may rewrite it but not delete
// it. It lets a token look after itself and use its own cubbyhole and
// response wrapping, nothing more.
const defaultText = `# Let a token look up, renew and revoke itself.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Let a token ask what it may do on a path.
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# Let a token ask which of its rules allows or denies a path, and why.
path "sys/policy/explain-self" {
  capabilities = ["update"]
}

# Let a token read its own identity entity.
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}

path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}

# Let the web UI show what the token may do.
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Let a token renew and look up the leases it holds.
path "sys/renew" {
  capabilities = ["update"]
}

path "sys/leases/renew" {
  capabilities = ["update"]
}

path "sys/leases/lookup" {
  capabilities = ["update"]
}

# Every token has a private cubbyhole.
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping: wrap data, and look up, rewrap or unwrap a wrapping
# token the caller holds.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}

path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

path "sys/wrapping/rewrap" {
  capabilities = ["update"]
}

# Hashing and random bytes need no secrets.
path "sys/tools/hash" {
  capabilities = ["update"]
}

path "sys/tools/hash/*" {
  capabilities = ["update"]
}
`

// builtin returns the built-in policies: root (no rules; NewACL treats it
// as allow-all) and default.
func builtin(name string) *Policy {
	switch name {
	case RootName:
		return &Policy{Name: RootName}
	case DefaultName:
		p, err := Parse(DefaultName, defaultText)
		if err != nil {
			panic("policy: built-in default policy does not parse: " + err.Error())
		}
		return p
	}
	return nil
}
