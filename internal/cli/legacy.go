package cli

// This file keeps vault 0.x's command names working, because old
// tutorials and scripts still use them: "tresor mounts", "tresor mount
// -path=django generic", "tresor token-create", ... Each prints a one-line
// hint naming the modern command on stderr, then runs that command with the
// same flags and arguments. They are hidden from the command list.
// ("auth TOKEN" is handled by the auth group itself; see auth.go.)

// legacyVerb is one vault 0.x command and the modern command it became.
type legacyVerb struct {
	name        string
	replacement string
	newCmd      func(*session) *command
}

var legacyVerbs = []legacyVerb{
	{"mounts", "secrets list", newSecretsListCommand},
	{"mount", "secrets enable", newSecretsEnableCommand},
	{"unmount", "secrets disable", newSecretsDisableCommand},
	{"remount", "secrets move", newSecretsMoveCommand},
	{"init", "operator init", newOperatorInitCommand},
	{"unseal", "operator unseal", newOperatorUnsealCommand},
	{"seal", "operator seal", newOperatorSealCommand},
	{"auth-enable", "auth enable", newAuthEnableCommand},
	{"auth-disable", "auth disable", newAuthDisableCommand},
	{"policy-write", "policy write", newPolicyWriteCommand},
	{"policies", "policy list` or `tresor policy read", newPoliciesCommand},
	{"token-create", "token create", newTokenCreateCommand},
	{"token-lookup", "token lookup", newTokenLookupCommand},
	{"token-renew", "token renew", newTokenRenewCommand},
	{"token-revoke", "token revoke", newTokenRevokeCommand},
	{"audit-enable", "audit enable", newAuditEnableCommand},
	{"audit-list", "audit list", newAuditListCommand},
	{"audit-disable", "audit disable", newAuditDisableCommand},
	{"capabilities", "token capabilities", newTokenCapabilitiesCommand},
	{"renew", "lease renew", newLeaseRenewCommand},
	{"revoke", "lease revoke", newLeaseRevokeCommand},
}

// legacyNames are the legacy verbs, for the dispatcher's hidden list.
func legacyNames() []string {
	names := make([]string, len(legacyVerbs))
	for i, v := range legacyVerbs {
		names[i] = v.name
	}
	return names
}

// legacyConstructor returns a constructor for v: the modern command under
// the old name, printing the deprecation hint before it runs.
func legacyConstructor(v legacyVerb) func(*session) *command {
	return func(s *session) *command {
		c := v.newCmd(s)
		c.name = v.name
		c.synopsis = "Deprecated: use " + binaryName + " " + v.replacement
		run := c.run
		c.run = func(c *command, args []string) int {
			deprecated(c.s, v.name, v.replacement)
			return run(c, args)
		}
		return c
	}
}

// newPoliciesCommand is vault 0.x's "policies [NAME]": list the policies,
// or print one.
func newPoliciesCommand(s *session) *command {
	c := newPolicyListCommand(s)
	list := c.run
	read := newPolicyReadCommand(s).run
	c.usage = `
Usage: tresor policies [options] [NAME]

  Lists the policies, or prints the policy NAME. Deprecated: use
  "tresor policy list" and "tresor policy read".
`
	c.run = func(c *command, args []string) int {
		if len(args) > 0 {
			return read(c, args)
		}
		return list(c, args)
	}
	return c
}
