package cli

import "github.com/tresorhq/tresor/internal/bench"

// newBenchCommand lists `tresor bench` in the help; the load generator
// parses its own flags, so Main hands it the arguments directly.
func newBenchCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "bench",
		synopsis: "Measure a Vault-compatible server end to end",
		outputs:  noHTTP,
		usage: `
Usage: tresor bench -workload=NAME [options]

  Runs a load test against any Vault-compatible server: kv-read, kv-write,
  kv-mixed, kv-list, token-create, token-lookup, approle-login,
  userpass-login, transit-encrypt, transit-encrypt-batch, pki-issue-ec,
  pki-issue-rsa or health. See "tresor bench -h" for every option.
`,
		run: func(c *command, args []string) int { return runBench(c.s, args) },
	}
}

func runBench(s *session, args []string) int {
	return bench.Main(s.ctx, args, s.stdout, s.stderr, s.env.Getenv)
}
