package database

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed five-field cron expression (minute, hour, day of
// month, month, day of week), as rotation_schedule takes: "*", numbers,
// ranges "a-b", lists "a,b" and steps "*/n" or "a-b/n". Times are UTC.
type schedule struct {
	minute, hour, dom, month, dow uint64 // bit i set: value i matches
	domAny, dowAny                bool
}

var cronFields = [5]struct {
	name     string
	min, max int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}}

// parseSchedule parses a cron expression; its errors never echo more
// than the field at fault.
func parseSchedule(spec string) (*schedule, error) {
	parts := strings.Fields(spec)
	if len(parts) != 5 {
		return nil, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), got %d", len(parts))
	}
	var bits [5]uint64
	for i, p := range parts {
		f := cronFields[i]
		for item := range strings.SplitSeq(p, ",") {
			rng, stepText, hasStep := strings.Cut(item, "/")
			step := 1
			if hasStep {
				n, err := strconv.Atoi(stepText)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("%s: bad step", f.name)
				}
				step = n
			}
			lo, hi := f.min, f.max
			switch {
			case rng == "*":
			case strings.Contains(rng, "-"):
				a, b, _ := strings.Cut(rng, "-")
				var err1, err2 error
				lo, err1 = strconv.Atoi(a)
				hi, err2 = strconv.Atoi(b)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("%s: bad range", f.name)
				}
			default:
				n, err := strconv.Atoi(rng)
				if err != nil {
					return nil, fmt.Errorf("%s: bad value", f.name)
				}
				lo = n
				if hasStep {
					hi = f.max
				} else {
					hi = n
				}
			}
			if lo < f.min || hi > f.max || lo > hi {
				return nil, fmt.Errorf("%s: out of range %d-%d", f.name, f.min, f.max)
			}
			for v := lo; v <= hi; v += step {
				bits[i] |= 1 << v
			}
		}
	}
	if bits[4]&(1<<7) != 0 { // 7 is Sunday too
		bits[4] |= 1
	}
	return &schedule{
		minute: bits[0], hour: bits[1], dom: bits[2], month: bits[3], dow: bits[4],
		domAny: parts[2] == "*", dowAny: parts[4] == "*",
	}, nil
}

// dayMatches follows cron: when both day fields are restricted, either
// may match.
func (s *schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if !s.domAny && !s.dowAny {
		return dom || dow
	}
	return dom && dow
}

// next returns the first matching minute after t, or the zero time if
// none comes within five years (e.g. "0 0 31 2 *").
func (s *schedule) next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case s.month&(1<<int(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case s.hour&(1<<t.Hour()) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case s.minute&(1<<t.Minute()) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}
