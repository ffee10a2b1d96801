package cli

import (
	"fmt"
	"strings"
)

func newPolicyExplainCommand(s *session) *command {
	var (
		op, tok  string
		policies []string
	)
	return &command{
		s:        s,
		name:     "policy explain",
		synopsis: "Explains which policy rule allows or denies a path",
		outputs:  withFormat,
		usage: `
Usage: tresor policy explain [options] PATH

  Asks the server why an operation on PATH is allowed or denied: the
  decision, the rule that decided it (its pattern, capabilities and how it
  matched: exact, glob, + segment, deny wins, longest prefix) and what each
  attached policy says. Without -token or -policy it explains the current
  token (sys/policy/explain-self, which the default policy grants).

      $ tresor policy explain -op=read secret/data/app
      $ tresor policy explain -op=list -policy=dev -policy=ops secret/metadata/
      $ tresor policy explain -format=json -token=hvs.xxx secret/data/app
`,
		flags: func(g *flagGroup) {
			g.stringVar(&op, "op", "read", "string",
				"Operation to explain: create, read, update, patch, delete or list.", "operation")
			g.stringVar(&tok, "token", "", "string",
				"Explain this token's policies instead of the current token's; \"-\" reads it from stdin, keeping it out of the process list.")
			g.stringsVar(&policies, "policy", "name",
				"Explain these policies instead of a token's; may be repeated.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			if tok == "-" {
				in, err := c.s.readFileArg("-")
				if err != nil {
					c.s.errorf("Failed to read the token: %s", err)
					return exitLocal
				}
				tok = strings.TrimSpace(in)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			body := map[string]any{"path": strings.TrimPrefix(args[0], "/"), "operation": strings.ToLower(op)}
			endpoint := "sys/policy/explain-self"
			switch {
			case tok != "":
				body["token"], endpoint = tok, "sys/policy/explain"
			case len(policies) > 0:
				body["policies"], endpoint = policies, "sys/policy/explain"
			}
			secret, err := client.Logical().WriteWithContext(c.s.ctx, endpoint, body)
			if err != nil {
				return c.apiFailed(err, "Error explaining %s", args[0])
			}
			if secret == nil || secret.Data == nil {
				c.s.errorf("No explanation returned")
				return exitRemote
			}
			if c.format != "table" {
				return c.printer().encode(secret.Data)
			}
			fmt.Fprint(c.s.stdout, explainTable(secret.Data))
			return exitOK
		},
	}
}

// explainTable renders sys/policy/explain's answer for people.
func explainTable(d map[string]any) string {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	strs := func(m map[string]any, k string) string {
		l, _ := m[k].([]any)
		out := make([]string, 0, len(l))
		for _, v := range l {
			out = append(out, fmt.Sprint(v))
		}
		return strings.Join(out, ",")
	}
	decision := str(d, "decision")
	if r := str(d, "reason"); r != "" {
		decision += " (" + r + ")"
	}
	rows := [][]string{{"Key", "Value"}, {"---", "-----"},
		{"decision", decision},
		{"path", str(d, "path")},
		{"operation", str(d, "operation")},
	}
	if rule, ok := d["rule"].(map[string]any); ok {
		rows = append(rows,
			[]string{"rule", str(rule, "pattern")},
			[]string{"rule_kind", str(rule, "kind")},
			[]string{"rule_capabilities", "[" + strs(rule, "capabilities") + "]"},
			[]string{"why", str(rule, "why")})
	} else if root, _ := d["root"].(bool); root {
		rows = append(rows, []string{"why", "the root policy allows everything"})
	} else {
		rows = append(rows, []string{"rule", "none: no rule of any attached policy matches"})
	}
	out := table(rows) + "\n\n"
	pols, _ := d["policies"].([]any)
	if len(pols) == 0 {
		return out
	}
	prow := [][]string{{"Policy", "Pattern", "Capabilities", "Why"}, {"------", "-------", "------------", "---"}}
	for _, p := range pols {
		m, _ := p.(map[string]any)
		pattern, caps := "-", "-"
		if mt, ok := m["match"].(map[string]any); ok {
			pattern = str(mt, "pattern") + " (" + str(mt, "kind") + ")"
			caps = "[" + strs(mt, "capabilities") + "]"
		}
		prow = append(prow, []string{str(m, "name"), pattern, caps, str(m, "why")})
	}
	return out + table(prow) + "\n"
}
