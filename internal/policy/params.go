package policy

import (
	"encoding/json"
	"strconv"
	"strings"
)

// checkParams applies a rule's parameter constraints to a request's
// parameters, in Vault's order: required, then denied, then allowed. It
// returns "" when they pass, or the reason they do not.
func (r *Rule) checkParams(params map[string]any) string {
	for _, name := range r.RequiredParameters {
		if _, ok := params[name]; !ok {
			return ReasonMissingParameter
		}
	}
	if len(params) == 0 {
		return ""
	}
	if len(r.DeniedParameters) > 0 {
		if _, all := r.DeniedParameters["*"]; all {
			return ReasonDeniedParameter
		}
		for k, v := range params {
			if values, ok := r.DeniedParameters[strings.ToLower(k)]; ok && deniedValue(v, values) {
				return ReasonDeniedParameter
			}
		}
	}
	if len(r.AllowedParameters) == 0 {
		return ""
	}
	_, anyName := r.AllowedParameters["*"]
	if anyName && len(r.AllowedParameters) == 1 {
		return ""
	}
	for k, v := range params {
		values, ok := r.AllowedParameters[strings.ToLower(k)]
		if !ok {
			if anyName {
				continue
			}
			return ReasonParameterNotAllow
		}
		if !allowedValue(v, values) {
			return ReasonParameterNotAllow
		}
	}
	return ""
}

// allowedValue reports whether v is allowed by values: an empty list allows
// anything; a list value needs each element allowed; a comma-separated
// string (how Vault fields take lists) passes if whole or every part does.
func allowedValue(v any, values []string) bool {
	if len(values) == 0 {
		return true
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if s, ok := scalar(e); !ok || !inList(s, values) {
				return false
			}
		}
		return true
	case []string:
		for _, e := range t {
			if !inList(e, values) {
				return false
			}
		}
		return true
	}
	s, ok := scalar(v)
	if !ok {
		return false
	}
	if inList(s, values) {
		return true
	}
	if _, isString := v.(string); !isString || !strings.Contains(s, ",") {
		return false
	}
	for rest := s; ; {
		part, more, found := strings.Cut(rest, ",")
		if !inList(strings.TrimSpace(part), values) {
			return false
		}
		if !found {
			return true
		}
		rest = more
	}
}

// deniedValue reports whether v is denied by values: an empty list denies
// anything; a list or comma-separated string is denied if any element is.
func deniedValue(v any, values []string) bool {
	if len(values) == 0 {
		return true
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if s, ok := scalar(e); ok && inList(s, values) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range t {
			if inList(e, values) {
				return true
			}
		}
		return false
	}
	s, ok := scalar(v)
	if !ok {
		return false
	}
	if inList(s, values) {
		return true
	}
	if _, isString := v.(string); !isString {
		return false
	}
	for rest := s; ; {
		part, more, found := strings.Cut(rest, ",")
		if inList(strings.TrimSpace(part), values) {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}
}

// scalar returns the string form a request value is compared in, matching
// how Parse writes policy values (so 10, 10.0 in JSON and "10" all match a
// policy's 10).
func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := t.Float64(); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64), true
		}
		return string(t), true
	case bool:
		return strconv.FormatBool(t), true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), true
	}
	return "", false
}

func inList(s string, values []string) bool {
	for _, pattern := range values {
		if globMatch(pattern, s) {
			return true
		}
	}
	return false
}

// globMatch matches a policy value against a request value as Vault does:
// a leading and/or trailing "*" makes a suffix, prefix or substring match;
// a lone "*" matches only itself.
func globMatch(pattern, s string) bool {
	if len(pattern) < 2 {
		return pattern == s
	}
	lead, trail := pattern[0] == '*', pattern[len(pattern)-1] == '*'
	switch {
	case lead && trail:
		return strings.Contains(s, pattern[1:len(pattern)-1])
	case lead:
		return strings.HasSuffix(s, pattern[1:])
	case trail:
		return strings.HasPrefix(s, pattern[:len(pattern)-1])
	}
	return s == pattern
}
