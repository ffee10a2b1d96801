package postgres

import (
	"net/url"
	"strings"
)

// redactedError shows an error with a password masked out, as a safety
// net for driver messages; Unwrap still reaches the original so callers
// can test it with errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact masks every occurrence of password, raw and URL-escaped, in
// err's text.
func redact(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	msg := err.Error()
	for _, p := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}
