package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Errors from parsing KEY=VALUE arguments.
var (
	// errStdinUsed: stdin was named ("-" or key=-) more than once; it can
	// only be read once.
	errStdinUsed = errors.New("stdin was already read by an earlier argument")
	// errNotKeyValue: an argument has no "=" and is neither "-" nor @file.
	errNotKeyValue = errors.New("argument must have the form key=value")
)

// parseKV turns vault-style data arguments into a request body:
//
//	key=value    a string
//	key=@path    the contents of the file at path
//	key=\@text   the literal string "@text"
//	key=-        all of stdin
//	-            a JSON object on stdin, merged in
//	@path        a JSON object in a file, merged in
//
// A key given more than once collects its values in a list.
func (s *session) parseKV(args []string) (map[string]any, error) {
	data := make(map[string]any)
	for _, arg := range args {
		if err := s.addKV(data, arg); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (s *session) addKV(data map[string]any, arg string) error {
	if arg == "" {
		return nil
	}
	key, value, ok := strings.Cut(arg, "=")
	if !ok {
		switch {
		case arg == "-":
			r, err := s.takeStdin()
			if err != nil {
				return err
			}
			return mergeJSON(data, r, "stdin")
		case arg[0] == '@':
			b, err := os.ReadFile(arg[1:])
			if err != nil {
				return fmt.Errorf("reading file: %w", err)
			}
			return mergeJSON(data, bytes.NewReader(b), arg[1:])
		}
		return fmt.Errorf("%q: %w", arg, errNotKeyValue)
	}

	switch {
	case strings.HasPrefix(value, "@"):
		b, err := os.ReadFile(value[1:])
		if err != nil {
			return fmt.Errorf("reading file: %w", err)
		}
		value = string(b)
	case strings.HasPrefix(value, `\@`):
		value = value[1:]
	case value == "-":
		r, err := s.takeStdin()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		value = string(b)
	}

	switch prev := data[key].(type) {
	case nil:
		data[key] = value
	case []any:
		data[key] = append(prev, value)
	default:
		data[key] = []any{prev, value}
	}
	return nil
}

// takeStdin hands out stdin once.
func (s *session) takeStdin() (io.Reader, error) {
	if s.stdinUsed {
		return nil, errStdinUsed
	}
	s.stdinUsed = true
	return s.stdin, nil
}

// mergeJSON decodes a JSON object from r into data; numbers keep their
// exact text.
func mergeJSON(data map[string]any, r io.Reader, from string) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("decoding JSON object from %s: %w", from, err)
	}
	for k, v := range obj {
		data[k] = v
	}
	return nil
}

// stringLists converts parsed data to query parameters, as read and delete
// send it.
func stringLists(data map[string]any) map[string][]string {
	if len(data) == 0 {
		return nil
	}
	out := make(map[string][]string, len(data))
	for k, v := range data {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		default:
			out[k] = []string{fmt.Sprint(v)}
		}
	}
	return out
}
