package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/parse"
)

// errBadDuration is returned by parseDuration for a value that is neither
// a Go duration ("1h30m") nor a non-negative number of seconds.
var errBadDuration = errors.New("want a duration such as 90s, 1h30m, 30d or seconds")

// globalFlags are the flags vault honours anywhere on the command line,
// even after positional arguments.
type globalFlags struct {
	format string // table, json, yaml or raw
	curl   bool   // -output-curl-string: print the request as curl instead
}

// scanGlobalFlags picks the global flags out of args (up to "--") and maps a
// lone -v/-version/--version to the version command. The format falls back
// to TRESOR_FORMAT/VAULT_FORMAT, then "table".
func scanGlobalFlags(args []string, getenv func(string) string) ([]string, globalFlags) {
	var g globalFlags
	if len(args) == 1 && (args[0] == "-v" || args[0] == "-version" || args[0] == "--version") {
		args = []string{"version"}
	}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := splitFlag(args[i])
		if args[i] == "--" {
			break
		}
		switch name {
		case "format":
			if hasValue {
				g.format = value
			} else if i+1 < len(args) {
				g.format = args[i+1]
				i++
			}
		case "output-curl-string":
			g.curl = true
		}
	}
	if g.format == "" {
		g.format = getenv("FORMAT")
	}
	g.format = strings.ToLower(g.format)
	if g.format == "" {
		g.format = "table"
	}
	return args, g
}

// splitFlag splits "-name=value" or "--name" into its parts; name is empty
// when arg is not a flag.
func splitFlag(arg string) (name, value string, hasValue bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return "", "", false
	}
	trimmed := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, value, hasValue = strings.Cut(trimmed, "=")
	return name, value, hasValue
}

// validFormat reports whether format is one the CLI can print.
func validFormat(format string) bool {
	switch format {
	case "table", "json", "yaml", "yml", "raw":
		return true
	}
	return false
}

// trailingArgs removes global flags that follow positional arguments (they
// were already honoured by scanGlobalFlags) and returns any other
// flag-looking arguments, which vault passes through as plain arguments.
func trailingArgs(args []string) (kept, notFlags []string) {
	for i := 0; i < len(args); i++ {
		name, _, hasValue := splitFlag(args[i])
		switch {
		case name == "format":
			if !hasValue {
				i++ // the value is the next argument
			}
		case name == "output-curl-string":
		case name != "":
			notFlags = append(notFlags, args[i])
			kept = append(kept, args[i])
		default:
			kept = append(kept, args[i])
		}
	}
	return kept, notFlags
}

// flagSet is a standard flag.FlagSet whose flags are documented in titled
// groups ("HTTP Options", "Command Options"), as vault prints them.
type flagSet struct {
	fs     *flag.FlagSet
	groups []*flagGroup
}

// flagGroup is one titled block of flags in the help text.
type flagGroup struct {
	set   *flagSet
	title string
	docs  []flagDoc
}

type flagDoc struct {
	name, example, usage string
}

func newFlagSet() *flagSet {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the command
	fs.Usage = func() {}
	return &flagSet{fs: fs}
}

// group starts a new titled block of flags.
func (s *flagSet) group(title string) *flagGroup {
	g := &flagGroup{set: s, title: title}
	s.groups = append(s.groups, g)
	return g
}

// stringVar defines -name=<example>; aliases are accepted but not documented.
func (g *flagGroup) stringVar(p *string, name, def, example, usage string, aliases ...string) {
	for _, n := range append([]string{name}, aliases...) {
		g.set.fs.StringVar(p, n, def, usage)
	}
	g.docs = append(g.docs, flagDoc{name: name, example: example, usage: usage})
}

// boolVar defines -name, which also accepts -name=false.
func (g *flagGroup) boolVar(p *bool, name string, def bool, usage string, aliases ...string) {
	for _, n := range append([]string{name}, aliases...) {
		g.set.fs.BoolVar(p, n, def, usage)
	}
	g.docs = append(g.docs, flagDoc{name: name, usage: usage})
}

// intVar defines -name=<int>.
func (g *flagGroup) intVar(p *int, name string, def int, usage string, aliases ...string) {
	for _, n := range append([]string{name}, aliases...) {
		g.set.fs.IntVar(p, n, def, usage)
	}
	g.docs = append(g.docs, flagDoc{name: name, example: "int", usage: usage})
}

// hidden defines a string flag that is accepted but not documented.
func (g *flagGroup) hidden(p *string, name, def string) {
	g.set.fs.StringVar(p, name, def, "")
}

// help renders the documented flags, group by group.
func (s *flagSet) help() string {
	var b strings.Builder
	for _, g := range s.groups {
		if len(g.docs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n\n", g.title)
		for _, d := range g.docs {
			if d.example != "" {
				fmt.Fprintf(&b, "  -%s=<%s>\n", d.name, d.example)
			} else {
				fmt.Fprintf(&b, "  -%s\n", d.name)
			}
			fmt.Fprintf(&b, "%s\n\n", wrap(d.usage, 6))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// maxLineLength is the width help text is wrapped at.
const maxLineLength = 78

// wrap word-wraps s to maxLineLength, indenting every line by pad spaces.
func wrap(s string, pad int) string {
	indent := strings.Repeat(" ", pad)
	var lines []string
	line := indent
	for _, word := range strings.Fields(s) {
		if len(line) > pad && len(line)+1+len(word) > maxLineLength {
			lines = append(lines, line)
			line = indent
		}
		if len(line) > pad {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}

// stringsVar defines a repeatable -name=<example>; each value may also hold
// a comma-separated list (-policy=a,b -policy=c gives [a b c]), as vault's
// slice flags do.
func (g *flagGroup) stringsVar(p *[]string, name, example, usage string) {
	g.set.fs.Func(name, usage, func(v string) error {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				*p = append(*p, e)
			}
		}
		return nil
	})
	g.docs = append(g.docs, flagDoc{name: name, example: example, usage: usage})
}

// mapVar defines a repeatable -name=key=value collecting into *p.
func (g *flagGroup) mapVar(p *map[string]string, name, example, usage string) {
	g.set.fs.Func(name, usage, func(v string) error {
		key, value, ok := strings.Cut(v, "=")
		if !ok || key == "" {
			return fmt.Errorf("%q: %w", v, errNotKeyValue)
		}
		if *p == nil {
			*p = make(map[string]string)
		}
		(*p)[key] = value
		return nil
	})
	g.docs = append(g.docs, flagDoc{name: name, example: example, usage: usage})
}

// durationValue is a flag.Value holding a duration written as vault
// accepts it: "90s", "1h30m", or plain seconds ("90").
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// durationVar defines -name=<duration>.
func (g *flagGroup) durationVar(p *time.Duration, name string, def time.Duration, usage string, aliases ...string) {
	*p = def
	for _, n := range append([]string{name}, aliases...) {
		g.set.fs.Var((*durationValue)(p), n, usage)
	}
	g.docs = append(g.docs, flagDoc{name: name, example: "duration", usage: usage})
}

// parseDuration reads durations with the server's rules (package parse):
// "90s", "1h30m", "30d" or plain seconds; negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	d, err := parse.NonNegativeDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", strings.TrimSpace(s), errBadDuration)
	}
	return d, nil
}
