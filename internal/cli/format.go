package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"go.yaml.in/yaml/v3"
)

// printer writes command results in the chosen format, the way vault does:
//
//   - table: "Key  Value" tables for secrets and maps, "Keys" for lists;
//     warnings go to stderr.
//   - json: the API response indented by two spaces.
//   - yaml: the same document as YAML.
//   - -field=NAME: the raw value of one field, without a trailing newline
//     unless stdout is a terminal; json/yaml still apply to that value.
type printer struct {
	out, errOut io.Writer
	format      string // table, json, yaml, yml or raw
	field       string
	tty         bool // stdout is a terminal: end raw fields with a newline
}

// secret prints an API response: data, lease, auth and wrapping info.
func (p *printer) secret(s *api.Secret) int {
	if p.field != "" {
		return p.fieldOf(s)
	}
	if p.format == "table" {
		p.warnings(s)
		if rows := secretRows(s); len(rows) > 0 {
			p.keyValues(rows)
		}
		return exitOK
	}
	return p.encode(s)
}

// list prints the "keys" of a LIST response: a "Keys" table, or the keys
// array in json/yaml.
func (p *printer) list(s *api.Secret) int {
	keys, _ := s.Data["keys"].([]any)
	if p.format != "table" {
		return p.encode(keys)
	}
	p.warnings(s)
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, fmt.Sprint(k))
	}
	sort.Strings(names)
	rows := [][]string{{"Keys"}, {"----"}}
	for _, n := range names {
		rows = append(rows, []string{n})
	}
	fmt.Fprintln(p.out, table(rows))
	return exitOK
}

// data prints a value that is not a secret envelope. A map becomes a
// Key/Value table; other values need a command-specific table, so callers
// only pass them here for json and yaml.
func (p *printer) data(v any) int {
	if p.field != "" {
		return p.fieldOf(v)
	}
	if m, ok := v.(map[string]any); ok && p.format == "table" {
		rows := make([][]string, 0, len(m))
		for _, k := range sortedKeys(m) {
			rows = append(rows, []string{k, displayValue(k, m[k])})
		}
		if len(rows) > 0 {
			p.keyValues(rows)
		}
		return exitOK
	}
	return p.encode(v)
}

// keyValues prints rows under a "Key  Value" header.
func (p *printer) keyValues(rows [][]string) {
	all := append([][]string{{"Key", "Value"}, {"---", "-----"}}, rows...)
	fmt.Fprintln(p.out, table(all))
}

// encode prints v as json or yaml.
func (p *printer) encode(v any) int {
	b, err := encode(p.format, v)
	if err != nil {
		fmt.Fprintf(p.errOut, "Could not format output: %s\n", err)
		return exitLocal
	}
	fmt.Fprintln(p.out, string(b))
	return exitOK
}

// fieldOf prints one field of a secret or map.
func (p *printer) fieldOf(v any) int {
	var val any
	switch v := v.(type) {
	case *api.Secret:
		val = secretField(v, p.field)
	case map[string]any:
		val = v[p.field]
	}
	if val == nil {
		fmt.Fprintf(p.errOut, "Field %q not present in secret\n", p.field)
		return exitLocal
	}
	var text string
	switch p.format {
	case "table", "raw":
		text = fmt.Sprint(val)
	default:
		b, err := encode(p.format, val)
		if err != nil {
			fmt.Fprintf(p.errOut, "Error formatting output: %s\n", err)
			return exitLocal
		}
		text = string(b)
	}
	// Piped output gets no newline, so $(tresor read -field=x ...) is exact.
	if p.tty {
		text += "\n"
	}
	io.WriteString(p.out, text)
	return exitOK
}

// warnings prints the server's warnings on stderr (table format only).
func (p *printer) warnings(s *api.Secret) {
	if s == nil || len(s.Warnings) == 0 {
		return
	}
	fmt.Fprintln(p.errOut, "WARNING! The following warnings were returned from the server:")
	fmt.Fprintln(p.errOut)
	for _, w := range s.Warnings {
		fmt.Fprintf(p.errOut, "%s\n\n", wrap("* "+w, 2))
	}
}

// secretField finds a field by the name the table shows it under; other
// names are looked up in the secret's data.
func secretField(s *api.Secret, name string) any {
	if s.Auth != nil {
		switch name {
		case "token":
			return s.Auth.ClientToken
		case "token_accessor":
			return s.Auth.Accessor
		case "token_duration":
			return s.Auth.LeaseDuration
		case "token_renewable":
			return s.Auth.Renewable
		case "token_policies":
			return s.Auth.TokenPolicies
		case "identity_policies":
			return s.Auth.IdentityPolicies
		case "policies":
			return s.Auth.Policies
		}
	}
	if s.WrapInfo != nil {
		switch name {
		case "wrapping_token":
			return s.WrapInfo.Token
		case "wrapping_accessor":
			return s.WrapInfo.Accessor
		case "wrapping_token_ttl":
			return s.WrapInfo.TTL
		case "wrapping_token_creation_time":
			return s.WrapInfo.CreationTime.Format(time.RFC3339Nano)
		case "wrapping_token_creation_path":
			return s.WrapInfo.CreationPath
		case "wrapped_accessor":
			return s.WrapInfo.WrappedAccessor
		}
	}
	if s.Auth == nil && s.WrapInfo == nil {
		switch name {
		case "lease_duration", "refresh_interval":
			return s.LeaseDuration
		case "lease_id":
			return s.LeaseID
		case "request_id":
			return s.RequestID
		case "renewable":
			return s.Renewable
		case "data":
			// KV v2 nests the secret under data; v1 and others are the data.
			if inner, ok := s.Data["data"]; ok {
				return inner
			}
			return s.Data
		}
	}
	if v, ok := s.Data[name]; ok {
		return v
	}
	return nil
}

// secretRows are the table rows of a secret, in vault's order.
func secretRows(s *api.Secret) [][]string {
	if s == nil {
		return nil
	}
	var rows [][]string
	add := func(k string, v any) { rows = append(rows, []string{k, fmt.Sprint(v)}) }
	if s.LeaseDuration > 0 {
		if s.LeaseID != "" {
			add("lease_id", s.LeaseID)
			add("lease_duration", humanSeconds(s.LeaseDuration))
			add("lease_renewable", s.Renewable)
		} else {
			// A lease without an ID is advisory (kv): vault calls it a
			// refresh interval.
			add("refresh_interval", humanSeconds(s.LeaseDuration))
		}
	}
	if a := s.Auth; a != nil {
		add("token", a.ClientToken)
		add("token_accessor", a.Accessor)
		if a.LeaseDuration == 0 {
			add("token_duration", "∞") // root tokens never expire
		} else {
			add("token_duration", humanSeconds(a.LeaseDuration))
		}
		add("token_renewable", a.Renewable)
		add("token_policies", fmt.Sprintf("%q", a.TokenPolicies))
		add("identity_policies", fmt.Sprintf("%q", a.IdentityPolicies))
		add("policies", fmt.Sprintf("%q", a.Policies))
		for _, k := range sortedKeys(a.Metadata) {
			add("token_meta_"+k, a.Metadata[k])
		}
	}
	if w := s.WrapInfo; w != nil {
		// vault prints these keys with a trailing colon; scripts may match it.
		add("wrapping_token:", w.Token)
		add("wrapping_accessor:", w.Accessor)
		add("wrapping_token_ttl:", humanSeconds(w.TTL))
		add("wrapping_token_creation_time:", w.CreationTime.String())
		add("wrapping_token_creation_path:", w.CreationPath)
		if w.WrappedAccessor != "" {
			add("wrapped_accessor:", w.WrappedAccessor)
		}
	}
	for _, k := range sortedKeys(s.Data) {
		rows = append(rows, []string{k, displayValue(k, s.Data[k])})
	}
	return rows
}

// displayValue formats a data value for a table; fields that look like
// durations in seconds are shown as durations ("768h").
func displayValue(key string, v any) string {
	if looksLikeDuration(key) {
		switch n := v.(type) {
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return humanSeconds(int(i))
			}
		case int:
			return humanSeconds(n)
		case int64:
			return humanSeconds(int(n))
		case float64:
			if n == float64(int64(n)) {
				return humanSeconds(int(n))
			}
		}
	}
	return fmt.Sprint(v)
}

func looksLikeDuration(k string) bool {
	for _, d := range []string{"period", "ttl", "duration"} {
		if k == d || strings.HasSuffix(k, "_"+d) {
			return true
		}
	}
	return k == "lease_max" || k == "ttl_max"
}

// humanSeconds renders seconds as a Go duration without zero units:
// 2764800 → "768h", 90 → "1m30s".
func humanSeconds(sec int) string {
	s := (time.Duration(sec) * time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if h, rest, ok := strings.Cut(s, "h0m"); ok {
		s = h + "h" + rest
	}
	return s
}

// table aligns rows into columns joined by four spaces, the last column
// unpadded. Cells are trimmed and empty ones shown as "n/a", as vault does.
func table(rows [][]string) string {
	trimmed := make([][]string, len(rows))
	for i, r := range rows {
		trimmed[i] = make([]string, len(r))
		for j, cell := range r {
			cell = strings.TrimSpace(cell)
			if cell == "" {
				cell = "n/a"
			}
			trimmed[i][j] = cell
		}
	}
	return columns(trimmed, "    ")
}

// columns pads every column but the last to its widest cell.
func columns(rows [][]string, glue string) string {
	var widths []int
	for _, r := range rows {
		for j, cell := range r {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], len([]rune(cell)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for j, cell := range r {
			line.WriteString(cell)
			if j < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[j]-len([]rune(cell))))
				line.WriteString(glue)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// encode renders v as indented JSON or as YAML. YAML goes through JSON so
// that field names are the API's (the json tags), as in vault.
func encode(format string, v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	if format == "json" {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("re-decoding JSON: %w", err)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(yamlNumbers(doc)); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return bytes.TrimSpace(out.Bytes()), nil
}

// yamlNumbers replaces json.Number (which YAML would quote as a string)
// with an integer or float.
func yamlNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
		return string(v)
	case map[string]any:
		for k, e := range v {
			v[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = yamlNumbers(e)
		}
	}
	return v
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printPathHeader prints a title padded with "=" to the width of the path,
// then the path, as kv commands head their output:
//
//	===== Secret Path =====
//	secret/data/app
func printPathHeader(w io.Writer, title, path string) {
	fmt.Fprintf(w, "%s\n%s\n\n", padEquals(title, len(path)), path)
}

// printSection prints a map as a Key/Value table under a title padded to
// roughly the table's width ("====== Data ======"), as kv commands do.
func printSection(p *printer, title string, m map[string]any) {
	longest := 0
	for k := range m {
		longest = max(longest, len(k))
	}
	// The table is the longest key, four spaces and "Value".
	fmt.Fprintln(p.out, padEquals(title, longest+4+len("Value")))
	rows := make([][]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		rows = append(rows, []string{k, displayValue(k, m[k])})
	}
	if len(rows) > 0 {
		p.keyValues(rows)
	}
}

// padEquals centres title in a line of "=" about width characters wide;
// at least two on each side, and the same number on both.
func padEquals(title string, width int) string {
	n := width - len(title) - 2
	if n <= 0 {
		n = 4
	}
	n += n % 2
	side := strings.Repeat("=", n/2)
	return side + " " + title + " " + side
}
