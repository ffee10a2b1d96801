package cli

import "errors"

// errNoServer: this binary was built without the server role.
var errNoServer = errors.New("server support not built in")

// newServerCommand only documents "server" in the command list: Main hands
// "tresor server ..." to Env.Server before dispatching, so the server owns
// its flags and help.
func newServerCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "server",
		synopsis: "Start a Tresor server",
		outputs:  noHTTP,
		usage: `
Usage: tresor server [options]

  Starts a Tresor server. See "tresor server -h" in a binary with the server
  built in for its options.
`,
		run: func(c *command, args []string) int { return runServer(c.s, args) },
	}
}

// runServer runs Env.Server with the arguments after "server".
func runServer(s *session, args []string) int {
	if s.env.Server == nil {
		s.errorf("Error: %s", errNoServer)
		return exitLocal
	}
	return s.env.Server(s.ctx, args, s.stdout, s.stderr)
}
