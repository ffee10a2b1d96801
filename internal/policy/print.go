package policy

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String prints p in canonical HCL: one stanza per path, sorted, with
// capabilities rather than legacy policy values. Parsing the result gives
// back the same rules.
func (p *Policy) String() string {
	var b strings.Builder
	for i := range p.Rules {
		if i > 0 {
			b.WriteByte('\n')
		}
		p.Rules[i].print(&b)
	}
	return b.String()
}

func (r *Rule) print(b *strings.Builder) {
	b.WriteString("path ")
	writeQuoted(b, r.Path)
	b.WriteString(" {\n  capabilities = ")
	writeList(b, r.Capabilities.Strings())
	b.WriteByte('\n')
	printParams(b, "allowed_parameters", r.AllowedParameters)
	printParams(b, "denied_parameters", r.DeniedParameters)
	if len(r.RequiredParameters) > 0 {
		b.WriteString("  required_parameters = ")
		writeList(b, r.RequiredParameters)
		b.WriteByte('\n')
	}
	if r.MinWrappingTTL > 0 {
		b.WriteString("  min_wrapping_ttl = ")
		writeQuoted(b, r.MinWrappingTTL.String())
		b.WriteByte('\n')
	}
	if r.MaxWrappingTTL > 0 {
		b.WriteString("  max_wrapping_ttl = ")
		writeQuoted(b, r.MaxWrappingTTL.String())
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
}

func printParams(b *strings.Builder, key string, params map[string][]string) {
	if len(params) == 0 {
		return
	}
	b.WriteString("  " + key + " = {\n")
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b.WriteString("    ")
		writeQuoted(b, k)
		b.WriteString(" = ")
		writeList(b, params[k])
		b.WriteByte('\n')
	}
	b.WriteString("  }\n")
}

func writeList(b *strings.Builder, items []string) {
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeQuoted(b, s)
	}
	b.WriteByte(']')
}

// writeQuoted writes s as an HCL string literal. "$" is escaped so that no
// "${" interpolation ever reaches HCL's reader, which would copy it raw.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '$':
			b.WriteString(`\u0024`)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			if r > 0xFFFF {
				b.WriteString(`\U`)
				b.WriteString(pad(strconv.FormatInt(int64(r), 16), 8))
			} else {
				b.WriteString(`\u`)
				b.WriteString(pad(strconv.FormatInt(int64(r), 16), 4))
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func pad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + s
}
