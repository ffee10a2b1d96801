package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/tresorhq/tresor/internal/version"
)

func newVersionCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "version",
		synopsis: "Prints the Tresor CLI version",
		outputs:  noHTTP,
		usage: `
Usage: tresor version

  Prints the version of this binary, with its source revision and build
  time when known. "tresor -v" and "tresor --version" do the same.
`,
		run: func(c *command, args []string) int {
			fmt.Fprintln(c.s.stdout, versionString())
			return exitOK
		},
	}
}

// versionString reads like vault's: "Tresor v0.1.0 ('abc123'), built 2025-01-01T00:00:00Z".
func versionString() string {
	v := "Tresor v" + version.Version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, built string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			built = s.Value
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" ('%s')", rev)
	}
	if built != "" {
		v += ", built " + built
	}
	return v
}
