package database

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"
)

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
	alnum  = lower + upper + digits
)

// randomString returns n characters drawn uniformly from charset.
func randomString(n int, charset string) string {
	// rand.Text-style rejection sampling over bytes.
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	limit := 256 - 256%len(charset)
	for len(out) < n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, charset[int(b)%len(charset)])
			}
		}
	}
	return string(out)
}

// newPassword returns a 20-character password with at least one lower-case
// letter, one upper-case letter, one digit and one "-", like Vault's
// default password policy. It holds no quote, backslash, "@" or ":", so it
// is safe in statements and connection strings alike.
func newPassword() string {
	for {
		p := randomString(20, alnum+"-")
		if strings.ContainsAny(p, lower) && strings.ContainsAny(p, upper) &&
			strings.ContainsAny(p, digits) && strings.Contains(p, "-") {
			return p
		}
	}
}

// usernameFuncs are the functions a username_template may call, as in
// Vault's templates.
func usernameFuncs(now time.Time) template.FuncMap {
	return template.FuncMap{
		"random": func(n int) (string, error) {
			if n < 0 || n > 256 {
				return "", fmt.Errorf("random: length %d out of range 0..256", n)
			}
			return randomString(n, alnum), nil
		},
		"truncate": func(n int, s string) string {
			if n >= 0 && len(s) > n {
				return s[:n]
			}
			return s
		},
		"unix_time":        func() string { return fmt.Sprint(now.Unix()) },
		"unix_time_millis": func() string { return fmt.Sprint(now.UnixMilli()) },
		"timestamp":        func(layout string) string { return now.UTC().Format(layout) },
		"lowercase":        strings.ToLower,
		"uppercase":        strings.ToUpper,
		"replace":          func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"uuid":             newUUID,
	}
}

// parseUsernameTemplate checks a username_template.
func parseUsernameTemplate(text string) (*template.Template, error) {
	return template.New("username").Option("missingkey=error").Funcs(usernameFuncs(time.Now())).Parse(text)
}

// newUsername renders the username template for a role and caller. It
// fails if the result is empty or longer than the database allows.
func newUsername(text, displayName, roleName string, maxLen int, now time.Time) (string, error) {
	t, err := template.New("username").Option("missingkey=error").Funcs(usernameFuncs(now)).Parse(text)
	if err != nil {
		return "", fmt.Errorf("username_template: %w", err)
	}
	var sb strings.Builder
	err = t.Execute(&sb, struct{ DisplayName, RoleName string }{displayName, roleName})
	if err != nil {
		return "", fmt.Errorf("username_template: %w", err)
	}
	name := strings.TrimSpace(sb.String())
	switch {
	case name == "":
		return "", fmt.Errorf("username_template produced an empty name")
	case len(name) > maxLen:
		return "", fmt.Errorf("username_template produced a name of %d characters, over the database's limit of %d", len(name), maxLen)
	}
	return name, nil
}

// redact removes secrets (and their URL-escaped forms) from a database's
// error text.
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) < 3 {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			msg = strings.ReplaceAll(msg, form, "*****")
		}
	}
	return msg
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
