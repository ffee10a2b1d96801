package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// runResultHelp is what a command's run returns to have its help printed
// on stderr and the process exit with 1 (vault's convention).
const runResultHelp = -18511

// dispatcher finds the command named by the leading words of the
// arguments — the longest known name, "kv metadata get" before "kv" — and
// runs it, printing help the way vault's CLI does: -h, -help or --help
// anywhere prints the command's help on stdout; an unknown command prints
// the list of commands on stderr and exits 127.
type dispatcher struct {
	commands map[string]func() *command
	hidden   map[string]bool
	rootHelp func(map[string]func() *command) string
	s        *session
}

// groupCommand stands for a parent that only groups subcommands, when the
// table has "a b" but no "a".
func (d *dispatcher) groupCommand() *command {
	return &command{s: d.s, usage: "This command is accessed by using one of the subcommands below.", outputs: noHTTP}
}

func (d *dispatcher) run(args []string) int {
	// Fill in missing parents: "operator raft" for "operator raft join".
	for name := range d.commands {
		for i := strings.LastIndex(name, " "); i > 0; i = strings.LastIndex(name, " ") {
			name = name[:i]
			if _, ok := d.commands[name]; !ok {
				d.commands[name] = d.groupCommand
			}
		}
	}

	var help bool
	var name string
	var topFlags, rest []string
	found := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		if arg == "-h" || arg == "-help" || arg == "--help" {
			help = true
			continue
		}
		if found {
			continue
		}
		if arg == "-v" || arg == "-version" || arg == "--version" {
			continue // no version flag: "tresor version" is the command
		}
		if arg == "" || arg[0] == '-' {
			if arg != "" {
				topFlags = append(topFlags, arg)
			}
			continue
		}
		found = true
		name = arg
		if strings.ContainsRune(arg, ' ') {
			name = ""
			break
		}
		// The name is the longest run of words, up to the first flag or
		// argument with a space, that names a command.
		end := i
		for end < len(args) && args[end] != "" && args[end][0] != '-' && !strings.ContainsRune(args[end], ' ') {
			end++
		}
		for j := end; j > i+1; j-- {
			if _, ok := d.commands[strings.Join(args[i:j], " ")]; ok {
				name = strings.Join(args[i:j], " ")
				i = j - 1
				break
			}
		}
		rest = args[i+1:]
	}

	if help && name == "" {
		fmt.Fprintln(d.s.stdout, d.rootHelp(d.children("")))
		return 0
	}
	factory, ok := d.commands[name]
	if !ok {
		fmt.Fprintln(d.s.stderr, d.rootHelp(d.children(parentOf(name))))
		return exitUnknown
	}
	cmd := factory()
	if help {
		d.commandHelp(d.s.stdout, name, cmd)
		return 0
	}
	if len(topFlags) > 0 {
		fmt.Fprint(d.s.stderr, "Invalid flags before the subcommand. If these flags are for\n"+
			"the subcommand, please put them after the subcommand.\n\n")
		d.commandHelp(d.s.stderr, name, cmd)
		return exitLocal
	}
	code := cmd.Run(rest)
	if code == runResultHelp {
		d.commandHelp(d.s.stderr, name, cmd)
		return exitLocal
	}
	return code
}

// parentOf is "a b" for "a b c" and "" for a top-level name.
func parentOf(name string) string {
	name = strings.TrimRight(name, " ")
	if i := strings.LastIndex(name, " "); i >= 0 {
		return name[:i]
	}
	return ""
}

// children lists the visible commands one word below prefix ("" for the
// top level).
func (d *dispatcher) children(prefix string) map[string]func() *command {
	if prefix != "" && !strings.HasSuffix(prefix, " ") {
		prefix += " "
	}
	out := make(map[string]func() *command)
	for name, f := range d.commands {
		if !strings.HasPrefix(name, prefix) || name == strings.TrimSpace(prefix) || d.hidden[name] {
			continue
		}
		if strings.Contains(name[len(prefix):], " ") {
			continue
		}
		out[name] = f
	}
	return out
}

// commandHelp prints a command's help and, for a group, its subcommands
// with their synopses aligned.
func (d *dispatcher) commandHelp(w io.Writer, name string, cmd *command) {
	text := cmd.Help()
	subs := d.children(name)
	if len(subs) > 0 {
		keys := make([]string, 0, len(subs))
		longest := 0
		for k := range subs {
			keys = append(keys, k)
			longest = max(longest, len(k))
		}
		sort.Strings(keys)
		text += "\n\nSubcommands:"
		for _, k := range keys {
			short := k[strings.LastIndex(k, " ")+1:]
			text += "\n    " + short + strings.Repeat(" ", longest-len(k)) + "    " + subs[k]().Synopsis()
		}
	}
	fmt.Fprintln(w, text)
}
