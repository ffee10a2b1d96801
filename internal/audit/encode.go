package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tresorhq/tresor/internal/jsonstr"
)

// The json format is written by hand rather than by encoding/json: an
// entry is appended field by field to a pooled buffer, and the strings of
// request and response data are hashed as they are written, with no hashed
// copy of the data maps. The output is byte for byte what encoding/json
// (with SetEscapeHTML(false)) writes for the entry struct and the hashed
// copy hasher.data would make, including map keys in sorted order; the
// tests in encode_test.go hold the two side by side.

// errUnsupportedValue is returned for floats JSON cannot carry (NaN, ±Inf),
// as encoding/json refuses them.
var errUnsupportedValue = errors.New("json: unsupported value")

// hashMode says what happens to the strings of a data value.
type hashMode uint8

const (
	// inClear writes strings as they are (log_raw, non-HMAC keys).
	inClear hashMode = iota
	// hashed hashes strings as hasher.value does.
	hashed
	// roundTrip hashes strings as hasher.value does for the types it
	// sends through a JSON round trip: the string is first made valid
	// UTF-8 the way encoding/json does, and nil maps and slices stay null.
	roundTrip
)

// encoder appends one entry. It lives in the device's pool with its buffer
// and the entry's parts, so that a steady stream of entries allocates
// almost nothing.
type encoder struct {
	buf   []byte
	parts entryParts
	keys  []string // stack of sorted map keys, shared by nested maps
	h     *hasher
	mac   *macState // taken from h on the first hash of an entry
}

// reset drops every reference the encoder holds into the last entry, so
// that a pooled encoder pins no caller data.
func (enc *encoder) reset() {
	enc.buf = enc.buf[:0]
	enc.parts = entryParts{}
	clear(enc.keys[:cap(enc.keys)])
	enc.keys = enc.keys[:0]
	if enc.mac != nil {
		enc.h.release(enc.mac)
		enc.mac = nil
	}
	enc.h = nil
}

// appendEntry appends e as one JSON object. When hashData is set, the data
// maps of the request and response are still clear and their strings are
// hashed while written, except under the keys each block keeps.
func (enc *encoder) appendEntry(b []byte, e *entry, hashData bool) ([]byte, error) {
	b = append(b, `{"time":`...)
	b = appendString(b, e.Time)
	b = append(b, `,"type":`...)
	b = appendString(b, string(e.Type))
	if e.Auth != nil {
		b = append(b, `,"auth":`...)
		b = appendAuth(b, e.Auth)
	}
	var err error
	if r := e.Request; r != nil {
		b = append(b, `,"request":`...)
		if b, err = enc.appendRequest(b, r, hashData); err != nil {
			return b, fmt.Errorf("request: %w", err)
		}
	}
	if r := e.Response; r != nil {
		b = append(b, `,"response":`...)
		if b, err = enc.appendResponse(b, r, hashData); err != nil {
			return b, fmt.Errorf("response: %w", err)
		}
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, e.Error)
	}
	return append(b, '}'), nil
}

// key appends the name of an object member, with the comma before it
// unless it is the object's first.
func key(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// Helpers for omitempty members.

func optString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(key(b, name), s)
}

func optInt(b []byte, name string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(key(b, name), n, 10)
}

func optStrings(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	return appendStrings(key(b, name), ss)
}

func appendAuth(b []byte, a *entryAuth) []byte {
	b = append(b, '{')
	b = optString(b, "client_token", a.ClientToken)
	b = optString(b, "accessor", a.Accessor)
	b = optString(b, "display_name", a.DisplayName)
	b = optStrings(b, "policies", a.Policies)
	b = optStrings(b, "token_policies", a.TokenPolicies)
	if len(a.Metadata) > 0 {
		b = appendStringMap(key(b, "metadata"), a.Metadata)
	}
	b = optInt(b, "num_uses", int64(a.NumUses))
	b = optInt(b, "remaining_uses", int64(a.RemainingUses))
	b = optString(b, "entity_id", a.EntityID)
	b = optString(b, "token_type", a.TokenType)
	b = optInt(b, "token_ttl", a.TokenTTL)
	b = optString(b, "token_issue_time", a.TokenIssueTime)
	return append(b, '}')
}

func (enc *encoder) appendRequest(b []byte, r *entryRequest, hashData bool) ([]byte, error) {
	b = append(b, '{')
	b = optString(b, "id", r.ID)
	b = optString(b, "operation", string(r.Operation))
	b = optString(b, "mount_point", r.MountPoint)
	b = optString(b, "mount_type", r.MountType)
	b = optString(b, "mount_accessor", r.MountAccessor)
	b = optString(b, "client_token", r.ClientToken)
	b = optString(b, "client_token_accessor", r.ClientTokenAccessor)
	b = appendString(append(key(b, "namespace"), `{"id":`...), r.Namespace.ID)
	b = append(b, '}')
	b = optString(b, "path", r.Path)
	if len(r.Data) > 0 {
		var err error
		if b, err = enc.appendData(key(b, "data"), r.Data, r.keep, hashData); err != nil {
			return b, fmt.Errorf("data: %w", err)
		}
	}
	b = optString(b, "remote_address", r.RemoteAddress)
	b = optInt(b, "remote_port", int64(r.RemotePort))
	b = optInt(b, "wrap_ttl", int64(r.WrapTTL))
	if len(r.Headers) > 0 {
		b = enc.appendStringsMap(key(b, "headers"), r.Headers, inClear)
	}
	return append(b, '}'), nil
}

func (enc *encoder) appendResponse(b []byte, r *entryResponse, hashData bool) ([]byte, error) {
	b = append(b, '{')
	b = optString(b, "mount_point", r.MountPoint)
	b = optString(b, "mount_type", r.MountType)
	b = optString(b, "mount_accessor", r.MountAccessor)
	if r.Auth != nil {
		b = appendAuth(key(b, "auth"), r.Auth)
	}
	if r.Secret != nil {
		b = appendString(append(key(b, "secret"), `{"lease_id":`...), r.Secret.LeaseID)
		b = append(b, '}')
	}
	if len(r.Data) > 0 {
		var err error
		if b, err = enc.appendData(key(b, "data"), r.Data, r.keep, hashData); err != nil {
			return b, fmt.Errorf("data: %w", err)
		}
	}
	b = optStrings(b, "warnings", r.Warnings)
	if w := r.WrapInfo; w != nil {
		b = strconv.AppendInt(append(key(b, "wrap_info"), `{"ttl":`...), int64(w.TTL), 10)
		b = appendString(append(b, `,"token":`...), w.Token)
		b = optString(b, "accessor", w.Accessor)
		b = appendString(append(b, `,"creation_time":`...), w.CreationTime)
		b = appendString(append(b, `,"creation_path":`...), w.CreationPath)
		b = optString(b, "wrapped_accessor", w.WrappedAccessor)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendData appends a block's data, hashing unless hashData is off; the
// values of the top-level keys in keep stay clear.
func (enc *encoder) appendData(b []byte, m map[string]any, keep []string, hashData bool) ([]byte, error) {
	start := enc.pushKeys(m)
	defer enc.popKeys(start)
	b = append(b, '{')
	for i, k := range enc.keys[start:] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		mode := inClear
		if hashData && !slices.Contains(keep, k) {
			mode = hashed
		}
		var err error
		if b, err = enc.appendValue(b, m[k], mode); err != nil {
			return b, fmt.Errorf("key %q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// appendValue appends v. The shapes engines return are written directly;
// anything else goes through encoding/json (and, when hashing, a JSON round
// trip as in hasher.value, so that no string slips out in clear because
// of its Go type).
func (enc *encoder) appendValue(b []byte, v any, mode hashMode) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return enc.appendHashable(b, t, mode), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case json.Number:
		return appendNumber(b, t)
	case float64:
		return appendFloat(b, t, 64)
	case float32:
		return appendFloat(b, float64(t), 32)
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case time.Duration:
		return strconv.AppendInt(b, int64(t), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint64:
		return strconv.AppendUint(b, t, 10), nil
	case map[string]any:
		if t == nil { // hasher.data keeps a nil map nil
			return append(b, "null"...), nil
		}
		if mode == roundTrip && !validKeys(t) {
			return enc.appendRoundTrip(b, t)
		}
		start := enc.pushKeys(t)
		defer enc.popKeys(start)
		b = append(b, '{')
		for i, k := range enc.keys[start:] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			var err error
			if b, err = enc.appendValue(b, t[k], mode); err != nil {
				return b, fmt.Errorf("key %q: %w", k, err)
			}
		}
		return append(b, '}'), nil
	case []any:
		if t == nil && mode != hashed { // hasher.value makes a nil []any empty
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = enc.appendValue(b, x, mode); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []string:
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = enc.appendHashable(b, s, mode)
		}
		return append(b, ']'), nil
	case map[string]string:
		if t == nil && mode != hashed { // hasher.value makes a nil map empty
			return append(b, "null"...), nil
		}
		if mode == roundTrip && !validKeys(t) {
			return enc.appendRoundTrip(b, t)
		}
		start := enc.pushKeys(t)
		defer enc.popKeys(start)
		b = append(b, '{')
		for i, k := range enc.keys[start:] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = enc.appendHashable(b, t[k], mode)
		}
		return append(b, '}'), nil
	case map[string][]string:
		if t == nil && mode != hashed {
			return append(b, "null"...), nil
		}
		if mode == roundTrip && !validKeys(t) {
			return enc.appendRoundTrip(b, t)
		}
		return enc.appendStringsMap(b, t, mode), nil
	case []map[string]any:
		if mode == hashed {
			// hasher.value sends this type through a JSON round trip.
			mode = roundTrip
		}
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = enc.appendValue(b, x, mode); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	default:
		if mode == inClear {
			return appendMarshal(b, t)
		}
		return enc.appendRoundTrip(b, t)
	}
}

// appendStringsMap appends a map[string][]string in sorted key order (also
// the request's audited headers, already hashed where configured).
func (enc *encoder) appendStringsMap(b []byte, m map[string][]string, mode hashMode) []byte {
	start := enc.pushKeys(m)
	defer enc.popKeys(start)
	b = append(b, '{')
	for i, k := range enc.keys[start:] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		ss := m[k]
		if ss == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, s := range ss {
			if j > 0 {
				b = append(b, ',')
			}
			b = enc.appendHashable(b, s, mode)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendRoundTrip does what hasher.value does with a type it does not
// know: encode it, decode it generically, and hash what came back.
func (enc *encoder) appendRoundTrip(b []byte, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encode %T for hashing: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return b, fmt.Errorf("decode %T for hashing: %w", v, err)
	}
	return enc.appendValue(b, generic, hashed)
}

// appendHashable appends s, hashed as the mode says.
func (enc *encoder) appendHashable(b []byte, s string, mode hashMode) []byte {
	switch mode {
	case hashed:
		return enc.appendHash(b, s)
	case roundTrip:
		if !utf8.ValidString(s) {
			s = string(appendValidUTF8(nil, s))
		}
		return enc.appendHash(b, s)
	}
	return appendString(b, s)
}

// appendHash appends the quoted "hmac-sha256:<hex>" of s; it needs no
// escaping.
func (enc *encoder) appendHash(b []byte, s string) []byte {
	if enc.mac == nil {
		enc.mac = enc.h.acquire()
	}
	b = append(b, '"')
	b = enc.mac.appendHash(b, s)
	return append(b, '"')
}

// pushKeys pushes the keys of m, sorted as encoding/json sorts them, onto
// the key stack and returns where they start; popKeys(start) pops them.
func (enc *encoder) pushKeys(m any) int {
	start := len(enc.keys)
	switch t := m.(type) {
	case map[string]any:
		for k := range t {
			enc.keys = append(enc.keys, k)
		}
	case map[string]string:
		for k := range t {
			enc.keys = append(enc.keys, k)
		}
	case map[string][]string:
		for k := range t {
			enc.keys = append(enc.keys, k)
		}
	}
	slices.Sort(enc.keys[start:])
	return start
}

func (enc *encoder) popKeys(start int) {
	clear(enc.keys[start:])
	enc.keys = enc.keys[:start]
}

func validKeys[V any](m map[string]V) bool {
	for k := range m {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}

func appendStrings(b []byte, ss []string) []byte { return jsonstr.AppendStrings(b, ss, false) }

// appendStringMap appends a clear map[string]string in sorted key order.
func appendStringMap(b []byte, m map[string]string) []byte {
	return jsonstr.AppendStringMap(b, m, false)
}

// appendMarshal appends v as encoding/json writes it inside an entry.
func appendMarshal(b []byte, v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, fmt.Errorf("encode %T: %w", v, err)
	}
	return append(b, bytes.TrimSuffix(out.Bytes(), []byte{'\n'})...), nil
}

// appendString appends s as a JSON string the way encoding/json does with
// SetEscapeHTML(false).
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }

// appendValidUTF8 appends s with each byte of invalid UTF-8 replaced by
// U+FFFD, which is what a string becomes through encoding/json.
func appendValidUTF8(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// appendFloat formats f as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("%w: %s", errUnsupportedValue, strconv.FormatFloat(f, 'g', -1, bits))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-09 → e-9, as JavaScript writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendNumber writes n verbatim once it is known to be a JSON number; an
// empty Number is 0, as encoding/json has it.
func appendNumber(b []byte, n json.Number) ([]byte, error) {
	if n == "" {
		return append(b, '0'), nil
	}
	if !validNumber(string(n)) {
		return b, fmt.Errorf("json: invalid number literal %q", string(n))
	}
	return append(b, n...), nil
}

// validNumber reports whether s follows the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	digits := func(i int) int {
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(i + 1)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}
