package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	hclprinter "github.com/hashicorp/hcl/hcl/printer"
)

// This file holds the policy command group: ACL policies in sys/policies.

func newPolicyCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy",
		synopsis: "Interact with policies",
		outputs:  noHTTP,
		usage: `
Usage: tresor policy <subcommand> [options] [args]

  Manages ACL policies, which grant tokens capabilities on paths.

      $ tresor policy write web-app-policy - <<EOF
      path "secret/data/services/my-app" {
        capabilities = ["read"]
      }
      EOF
      $ tresor policy read web-app-policy
      $ tresor policy list

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

func newPolicyWriteCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy write",
		synopsis: "Uploads a named policy from a file",
		outputs:  withFormat,
		usage: `
Usage: tresor policy write [options] NAME PATH

  Uploads the policy in the file at PATH under NAME, replacing any policy of
  that name. PATH "-" reads the policy from stdin.

      $ tresor policy write my-policy /tmp/policy.hcl
      $ cat policy.hcl | tresor policy write my-policy -
`,
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 2, 2) {
				return exitLocal
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			rules, err := c.s.readFileArg(args[1])
			if err != nil {
				c.s.errorf("Failed to read policy: %s", err)
				return exitLocal
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			if err := client.Sys().PutPolicyWithContext(c.s.ctx, name, rules); err != nil {
				return c.apiFailed(err, "Error uploading policy")
			}
			fmt.Fprintf(c.s.stdout, "Success! Uploaded policy: %s\n", name)
			return exitOK
		},
	}
}

// readFileArg reads a file named on the command line: "-" is stdin and a
// leading "@" is accepted, as in vault's examples.
func (s *session) readFileArg(name string) (string, error) {
	if name == "-" {
		r, err := s.takeStdin()
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return "", fmt.Errorf("reading stdin: %w", err)
		}
		return string(b), nil
	}
	b, err := os.ReadFile(strings.TrimPrefix(name, "@"))
	if err != nil {
		return "", fmt.Errorf("reading file: %w", err)
	}
	return string(b), nil
}

func newPolicyReadCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy read",
		synopsis: "Prints the contents of a policy",
		outputs:  withFormat,
		usage: `
Usage: tresor policy read [options] NAME

  Prints the rules of the policy NAME.

      $ tresor policy read web-app-policy
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			rules, err := client.Sys().GetPolicyWithContext(c.s.ctx, name)
			if err != nil {
				return c.apiFailed(err, "Error reading policy named %s", name)
			}
			if rules == "" {
				c.s.errorf("No policy named: %s", name)
				return exitRemote
			}
			if c.format != "table" {
				return c.printer().encode(map[string]any{"name": name, "policy": rules})
			}
			fmt.Fprintln(c.s.stdout, strings.TrimSpace(rules))
			return exitOK
		},
	}
}

func newPolicyListCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy list",
		synopsis: "Lists the installed policies",
		outputs:  withFormat,
		usage: `
Usage: tresor policy list [options]

  Lists the names of the ACL policies, one per line.

      $ tresor policy list
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			names, err := client.Sys().ListPoliciesWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error listing policies")
			}
			sort.Strings(names)
			if c.format != "table" {
				return c.printer().encode(names)
			}
			for _, n := range names {
				fmt.Fprintln(c.s.stdout, n)
			}
			return exitOK
		},
	}
}

func newPolicyDeleteCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy delete",
		synopsis: "Deletes a policy by name",
		outputs:  withFormat,
		usage: `
Usage: tresor policy delete [options] NAME

  Deletes the policy NAME. Tokens holding it lose its grants at once.
  The "root" and "default" policies cannot be deleted.

      $ tresor policy delete web-app-policy
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			if err := client.Sys().DeletePolicyWithContext(c.s.ctx, name); err != nil {
				return c.apiFailed(err, "Error deleting %s", name)
			}
			fmt.Fprintf(c.s.stdout, "Success! Deleted policy: %s\n", name)
			return exitOK
		},
	}
}

func newPolicyFmtCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "policy fmt",
		synopsis: "Formats a policy on disk",
		outputs:  noHTTP,
		usage: `
Usage: tresor policy fmt [options] PATH

  Checks that the HCL policy file at PATH parses and rewrites it in the
  canonical format, in place.

      $ tresor policy fmt my-policy.hcl
`,
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			p := strings.TrimPrefix(args[0], "@")
			src, err := os.ReadFile(p)
			if err != nil {
				c.s.errorf("Error opening policy file: %s", err)
				return exitLocal
			}
			out, err := formatPolicy(src)
			if err != nil {
				c.s.errorf("Error parsing policy: %s", err)
				return exitLocal
			}
			fi, err := os.Stat(p)
			if err != nil {
				c.s.errorf("Error writing policy file: %s", err)
				return exitLocal
			}
			if err := os.WriteFile(p, out, fi.Mode().Perm()); err != nil {
				c.s.errorf("Error writing policy file: %s", err)
				return exitLocal
			}
			fmt.Fprintf(c.s.stdout, "Success! Formatted policy: %s\n", p)
			return exitOK
		},
	}
}

// formatPolicy parses an HCL policy and prints it canonically. It checks
// syntax only; whether the rules make sense is the server's to judge.
func formatPolicy(src []byte) ([]byte, error) {
	out, err := hclprinter.Format(src)
	if err != nil {
		return nil, fmt.Errorf("formatting HCL: %w", err)
	}
	return out, nil
}
