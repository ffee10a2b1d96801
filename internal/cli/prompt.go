package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// isTerminal reports whether v is a terminal (an *os.File on a tty).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readSecret asks for a secret on prompt. On a terminal the input is not
// echoed; otherwise one line is read from stdin, so keys can be piped in.
func (s *session) readSecret(prompt io.Writer, label string) (string, error) {
	fmt.Fprint(prompt, label)
	defer fmt.Fprintln(prompt)
	if f, ok := s.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		if err != nil {
			return "", fmt.Errorf("reading from terminal: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if s.stdinUsed {
		return "", errStdinUsed
	}
	line, err := s.stdin.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading from stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}
