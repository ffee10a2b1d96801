package httpapi

import (
	"fmt"

	"github.com/tresorhq/tresor/internal/jsonscan"
)

// checkJSON is checkJSONShape in a single pass: it validates raw's syntax
// as json.Valid does and enforces the same depth and size bounds while it
// goes, where checkJSONShape walks the body once for the bounds and
// json.Valid walks it again. It answers exactly as checkJSONShape for every
// input: a well-formed object within the bounds is nil; a bound exceeded
// in a well-formed prefix is the error checkJSONShape gives for it (both
// walks see the same containers and commas up to there); anything else,
// a body that is not an object or malformed text, is left to
// checkJSONShape itself, which says which it is.
func checkJSON(raw []byte) error {
	n := len(raw)
	i := jsonscan.SkipSpace(raw, 0)
	if i >= n || raw[i] != '{' {
		return checkJSONShape(raw)
	}
	// The open containers: whether each is an object, and the commas
	// seen in it (n commas separate n+1 entries). Fixed arrays on the
	// stack: nothing is allocated for a body of any shape.
	var object [maxJSONDepth]bool
	var commas [maxJSONDepth]uint16
	depth := 0
	for {
		// raw[i] starts a value.
		if i >= n {
			return checkJSONShape(raw)
		}
		switch c := raw[i]; c {
		case '{', '[':
			if depth >= maxJSONDepth {
				return fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
			}
			object[depth], commas[depth] = c == '{', 0
			depth++
			i = jsonscan.SkipSpace(raw, i+1)
			if i < n && (raw[i] == '}' && c == '{' || raw[i] == ']' && c == '[') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i = memberKey(raw, i); i < 0 {
					return checkJSONShape(raw)
				}
			}
			continue
		case '"':
			i = stringEnd(raw, i)
		case 't':
			i = literalEnd(raw, i, "true")
		case 'f':
			i = literalEnd(raw, i, "false")
		case 'n':
			i = literalEnd(raw, i, "null")
		default:
			i = numberEnd(raw, i)
		}
		if i < 0 {
			return checkJSONShape(raw)
		}
		// A value ended at raw[i]: close containers, or go on to the
		// next entry.
		for {
			i = jsonscan.SkipSpace(raw, i)
			if depth == 0 {
				if i != n {
					return checkJSONShape(raw)
				}
				return nil
			}
			if i >= n {
				return checkJSONShape(raw)
			}
			top := depth - 1
			c := raw[i]
			if c == '}' && object[top] || c == ']' && !object[top] {
				depth--
				i++
				continue
			}
			if c != ',' {
				return checkJSONShape(raw)
			}
			commas[top]++
			if object[top] && commas[top] >= maxJSONEntries {
				return fmt.Errorf("an object has more than %d entries", maxJSONEntries)
			}
			if !object[top] && commas[top] >= maxJSONElements {
				return fmt.Errorf("an array has more than %d elements", maxJSONElements)
			}
			i = jsonscan.SkipSpace(raw, i+1)
			if object[top] {
				if i = memberKey(raw, i); i < 0 {
					return checkJSONShape(raw)
				}
			}
			break
		}
	}
}

// memberKey checks `"key" :` at raw[i] and returns the index of the
// member's value (after blanks), or -1.
func memberKey(raw []byte, i int) int {
	if i >= len(raw) || raw[i] != '"' {
		return -1
	}
	if i = stringEnd(raw, i); i < 0 {
		return -1
	}
	i = jsonscan.SkipSpace(raw, i)
	if i >= len(raw) || raw[i] != ':' {
		return -1
	}
	return jsonscan.SkipSpace(raw, i+1)
}

// stringEnd returns the index after the string starting at raw[i] ('"'),
// or -1 when it is not a valid JSON string: unterminated, a control
// character, or an escape other than \" \\ \/ \b \f \n \r \t \uXXXX.
// Other bytes, invalid UTF-8 included, are accepted, as json.Valid does.
func stringEnd(raw []byte, i int) int {
	n := len(raw)
	for i++; i < n; i++ {
		c := raw[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= n {
				return -1
			}
			switch raw[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= n {
					return -1
				}
				for _, h := range raw[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

// literalEnd returns the index after lit at raw[i], or -1.
func literalEnd(raw []byte, i int, lit string) int {
	if len(raw)-i < len(lit) || string(raw[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd returns the index after the number at raw[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(raw []byte, i int) int {
	n := len(raw)
	digits := func(i int) int { // one or more
		start := i
		for i < n && '0' <= raw[i] && raw[i] <= '9' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
	if i < n && raw[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case raw[i] == '0':
		i++
	case '1' <= raw[i] && raw[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < n && raw[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < n && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < n && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}
