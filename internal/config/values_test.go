package config

import (
	"testing"
	"time"
)

func TestAsDuration(t *testing.T) {
	tests := map[string]struct {
		in   any
		want time.Duration
		bad  bool
	}{
		"go duration":      {in: "1h30m", want: 90 * time.Minute},
		"hours":            {in: "768h", want: 768 * time.Hour},
		"seconds suffix":   {in: "30s", want: 30 * time.Second},
		"days":             {in: "30d", want: 30 * 24 * time.Hour},
		"bare seconds":     {in: int64(45), want: 45 * time.Second},
		"quoted seconds":   {in: " 60 ", want: time.Minute},
		"whole float":      {in: float64(120), want: 2 * time.Minute},
		"empty is unset":   {in: "", want: 0},
		"fractional float": {in: 1.5, bad: true},
		"negative":         {in: int64(-1), bad: true},
		"negative string":  {in: "-1h", bad: true},
		"word":             {in: "forever", bad: true},
		"bool":             {in: true, bad: true},
		"day overflow":     {in: "99999999999d", bad: true},
		"second overflow":  {in: "9223372036854775807", bad: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := asDuration(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("asDuration(%v) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("asDuration(%v) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAsBool(t *testing.T) {
	tests := map[string]struct {
		in   any
		want bool
		bad  bool
	}{
		"true":         {in: true, want: true},
		"false":        {in: false},
		"one":          {in: int64(1), want: true},
		"zero":         {in: int64(0)},
		"quoted true":  {in: "true", want: true},
		"quoted false": {in: "false"},
		"quoted one":   {in: "1", want: true},
		"quoted zero":  {in: "0"},
		"two":          {in: int64(2), bad: true},
		"yes":          {in: "yes", bad: true},
		"float one":    {in: 1.0, want: true}, // one boolean rule everywhere: JSON's number 1 is true
		"float half":   {in: 0.5, bad: true},
		"mixed case":   {in: "TRUE", want: true},
		"t":            {in: "t", want: true},
		"empty string": {in: "", bad: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := asBool(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("asBool(%v) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("asBool(%v) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
