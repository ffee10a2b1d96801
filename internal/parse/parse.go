// Package parse reads the scalar forms Vault accepts in request bodies,
// query strings, headers and configuration files — durations and
// booleans — so that the same input means the same thing on every
// endpoint and in every file. It follows the rules of Vault's parseutil.
//
// Durations: a number of seconds (a JSON number or a numeric string), a
// Go duration ("90s", "1h30m") or whole days ("30d"); blank is zero;
// overflow is refused. Duration accepts negative values, as parseutil
// does, for fields that give them a meaning or word their own refusal;
// NonNegativeDuration refuses them. Where a word such as "system" means
// something, the field checks it before calling either.
//
// Booleans: true or false, the strings true/false/t/f/1/0 in any case
// (blank around them ignored), and the numbers 1 and 0.
package parse

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrDuration is the reason given for any unreadable duration.
var ErrDuration = errors.New(`want a duration such as "768h", "30m", "30d" or a number of seconds`)

// ErrNegative is returned for a negative duration.
var ErrNegative = errors.New("must not be negative")

// ErrBool is the reason given for any unreadable boolean.
var ErrBool = errors.New("want true or false")

// maxSeconds keeps a count of seconds from overflowing a time.Duration.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// NonNegativeDuration is Duration that refuses a negative value with
// ErrNegative.
func NonNegativeDuration(v any) (time.Duration, error) {
	d, err := Duration(v)
	if err == nil && d < 0 {
		return 0, ErrNegative
	}
	return d, err
}

// Duration reads v as a duration; see the package documentation.
func Duration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case time.Duration:
		return x, nil
	case int:
		return secondsOf(int64(x))
	case int64:
		return secondsOf(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, ErrDuration
		}
		if math.Abs(x) > float64(maxSeconds) {
			return 0, ErrDuration
		}
		return secondsOf(int64(x))
	case json.Number:
		return Duration(x.String())
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return secondsOf(n)
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.ParseInt(days, 10, 64)
			if err != nil || n > maxSeconds/86400 || n < -maxSeconds/86400 {
				return 0, ErrDuration
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, ErrDuration
		}
		return d, nil
	}
	return 0, ErrDuration
}

func secondsOf(n int64) (time.Duration, error) {
	if n > maxSeconds || n < -maxSeconds {
		return 0, ErrDuration
	}
	return time.Duration(n) * time.Second, nil
}

// Bool reads v as a boolean; see the package documentation.
func Bool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "t", "1":
			return true, nil
		case "false", "f", "0":
			return false, nil
		}
	case json.Number:
		return Bool(x.String())
	case float64:
		switch x {
		case 1:
			return true, nil
		case 0:
			return false, nil
		}
	case int:
		return Bool(float64(x))
	case int64:
		return Bool(float64(x))
	}
	return false, ErrBool
}
