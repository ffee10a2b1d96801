// Package jsonstr appends strings as JSON exactly as encoding/json writes
// them, for the hand-written encoders on hot paths (the HTTP envelope,
// transit's batch results, audit entries), which must stay byte for byte
// what encoding/json would produce.
package jsonstr

import (
	"slices"
	"unicode/utf8"
)

// Append appends s as a JSON string: short escapes for '"', '\\', \b, \f,
// \n, \r and \t, \u00XX for other control characters, \ufffd for each
// byte of invalid UTF-8, U+2028 and U+2029 escaped, and with html set
// (encoding/json's default) <, > and & as \u003c, \u003e and \u0026.
func Append(b []byte, s string, html bool) []byte {
	safe := &safeHTML
	if !html {
		safe = &safePlain
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// safePlain and safeHTML mark the ASCII bytes a JSON string holds as they
// are, without and with HTML escaping.
var safePlain, safeHTML = func() (plain, html [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return
}()

// AppendStrings appends ss as a JSON array of strings (escaped as Append
// does); a nil slice is written as [] like an empty one, so callers that
// must write null for it check first.
func AppendStrings(b []byte, ss []string, html bool) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = Append(b, s, html)
	}
	return append(b, ']')
}

// AppendStringMap appends m as a JSON object in encoding/json's member
// order (keys sorted byte-wise), keys and values escaped as Append does; a
// nil map is written as {}.
func AppendStringMap(b []byte, m map[string]string, html bool) []byte {
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(Append(b, k, html), ':')
		b = Append(b, m[k], html)
	}
	return append(b, '}')
}
