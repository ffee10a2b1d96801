package database

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	from := time.Date(2026, 11, 29, 22, 30, 15, 0, time.UTC) // a Sunday
	tests := map[string]struct {
		spec string
		want time.Time
	}{
		"every minute":       {"* * * * *", time.Date(2026, 11, 29, 22, 31, 0, 0, time.UTC)},
		"every 15 minutes":   {"*/15 * * * *", time.Date(2026, 11, 29, 22, 45, 0, 0, time.UTC)},
		"daily at 01:00":     {"0 1 * * *", time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)},
		"mondays":            {"0 0 * * 1", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		"sunday as 7":        {"0 23 * * 7", time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)},
		"first of month":     {"30 6 1 * *", time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC)},
		"list and range":     {"0 9-10,20 * * *", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		"dom or dow":         {"0 0 15 * 2", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		"yearly":             {"0 0 1 1 *", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		"feb 29":             {"0 0 29 2 *", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		"never (feb 31)":     {"0 0 31 2 *", time.Time{}},
		"step from a value":  {"50/5 * * * *", time.Date(2026, 11, 29, 22, 50, 0, 0, time.UTC)},
		"range with a step":  {"0 0-12/6 * * *", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		"month in the spec":  {"0 0 1 6 *", time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)},
		"time zone agnostic": {"31 22 29 11 *", time.Date(2026, 11, 29, 22, 31, 0, 0, time.UTC)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := parseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.next(from); !got.Equal(tt.want) {
				t.Errorf("next(%v) = %v, want %v", from, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *", "a * * * *", "5-1 * * * *", "1-x * * * *"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzSchedule(f *testing.F) {
	f.Add("*/15 9-17 * * 1-5")
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := parseSchedule(spec)
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := s.next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("next %v not after %v", n, from)
		}
	})
}

func TestStaticRoleDue(t *testing.T) {
	last := time.Date(2026, 11, 29, 22, 30, 15, 0, time.UTC)
	tests := map[string]struct {
		r    staticRole
		want time.Time
	}{
		"period":          {staticRole{RotationPeriod: time.Hour, LastRotation: last}, last.Add(time.Hour)},
		"schedule":        {staticRole{Schedule: "0 * * * *", LastRotation: last}, time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)},
		"retry first":     {staticRole{Schedule: "0 * * * *", LastRotation: last, NextAttempt: last.Add(time.Minute)}, last.Add(time.Minute)},
		"never":           {staticRole{Schedule: "0 0 31 2 *", LastRotation: last}, time.Time{}},
		"broken in store": {staticRole{Schedule: "nonsense", LastRotation: last}, time.Time{}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.r.due(); !got.Equal(tt.want) {
				t.Errorf("due = %v, want %v", got, tt.want)
			}
		})
	}
}
