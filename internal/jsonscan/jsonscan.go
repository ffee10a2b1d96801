// Package jsonscan walks JSON text that has already been validated
// (json.Valid), to find the extent of values without decoding them: the
// request body's batch items (httpapi) and a raw item's fields (framework)
// are read this way, as slices of the body.
package jsonscan

import "bytes"

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipString returns the index after the string starting at raw[i] ('"').
// It does not check escapes; the text is validated elsewhere. The closing
// quote is the first one not escaped, that is, not preceded by an odd run
// of backslashes; it is found by memchr-speed searches for quotes.
func SkipString(raw []byte, i int) (int, bool) {
	start := i + 1
	for from := start; from < len(raw); {
		j := bytes.IndexByte(raw[from:], '"')
		if j < 0 {
			break
		}
		q := from + j
		k := q
		for k > start && raw[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1, true
		}
		from = q + 1
	}
	return 0, false
}

// SkipValue returns the index after the value starting at raw[i]. Nested
// objects and arrays are skipped by counting brackets outside strings, so
// depth costs no stack.
func SkipValue(raw []byte, i int) (int, bool) {
	if i >= len(raw) {
		return 0, false
	}
	switch raw[i] {
	case '"':
		return SkipString(raw, i)
	case '{', '[':
		depth := 0
		for i < len(raw) {
			switch raw[i] {
			case '"':
				end, ok := SkipString(raw, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i
	for i < len(raw) {
		switch raw[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i, i > start
		case '"', '{', '[', ':':
			return 0, false
		}
		i++
	}
	return i, i > start
}

// Members calls fn with each member of the JSON object raw, in order: the
// key's token (quotes included, escapes as written) and the value's text.
// It reports false when raw is not an object as far as this walk can tell,
// or when fn returned false.
func Members(raw []byte, fn func(key, value []byte) bool) bool {
	i := SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = SkipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return SkipSpace(raw, i+1) == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		end, ok := SkipString(raw, i)
		if !ok {
			return false
		}
		key := raw[i:end]
		i = SkipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = SkipSpace(raw, i+1)
		vend, ok := SkipValue(raw, i)
		if !ok || !fn(key, raw[i:vend]) {
			return false
		}
		i = SkipSpace(raw, vend)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = SkipSpace(raw, i+1)
			continue
		case '}':
			return SkipSpace(raw, i+1) == len(raw)
		}
		return false
	}
}
