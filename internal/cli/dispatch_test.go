package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDispatcher(t *testing.T) {
	var ran []string
	var out, errb bytes.Buffer
	sess := newSession(context.Background(), Env{Stdout: &out, Stderr: &errb})
	sess.global.format = "table"
	mk := func(name string, code int) func() *command {
		return func() *command {
			return &command{s: sess, name: name, synopsis: "does " + name, usage: "Usage: " + name, outputs: noHTTP,
				run: func(_ *command, args []string) int { ran = append(ran, name+" "+strings.Join(args, ",")); return code }}
		}
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		ran    string
		stdout string // substring
		stderr string // substring
	}{
		{name: "longest name wins", args: []string{"kv", "get", "secret/a"}, ran: "kv get secret/a"},
		{name: "arguments after the name", args: []string{"kv", "put", "x"}, ran: "kv put,x"},
		{name: "help anywhere", args: []string{"kv", "get", "x", "-help"}, stdout: "Usage: kv get"},
		{name: "root help", args: []string{"-h"}, stdout: "does kv"},
		{name: "unknown command", args: []string{"nope"}, code: exitUnknown, stderr: "does kv"},
		{name: "no command", args: nil, code: exitUnknown, stderr: "does kv"},
		{name: "missing parent is a group", args: []string{"operator"}, code: exitLocal, stderr: "Subcommands:\n    raft    does operator raft"},
		{name: "group help lists children", args: []string{"operator", "raft", "-h"}, stdout: "Usage: operator raft"},
		{name: "flags before the command", args: []string{"-x", "kv"}, code: exitLocal, stderr: "Invalid flags before the subcommand"},
		{name: "run asks for help", args: []string{"help-me"}, code: exitLocal, stderr: "Usage: help-me"},
		{name: "hidden commands run", args: []string{"secret-verb"}, ran: "secret-verb "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			out.Reset()
			errb.Reset()
			d := &dispatcher{
				commands: map[string]func() *command{
					"kv": mk("kv", 0), "kv get": mk("kv get", 0), "operator raft": mk("operator raft", 0),
					"help-me": mk("help-me", runResultHelp), "secret-verb": mk("secret-verb", 0),
				},
				hidden:   map[string]bool{"secret-verb": true},
				rootHelp: rootHelp, s: sess,
			}
			if code := d.run(tc.args); code != tc.code {
				t.Errorf("code %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if tc.ran != "" && (len(ran) != 1 || ran[0] != tc.ran) {
				t.Errorf("ran %q, want %q", ran, tc.ran)
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stdout %q\nstderr %q", out.String(), errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "secret-verb") {
				t.Errorf("a hidden command is listed")
			}
		})
	}
}
