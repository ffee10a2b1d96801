package parse

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := map[string]struct {
		in      any
		want    time.Duration
		wantErr error
	}{
		"nil":                {in: nil, want: 0},
		"blank":              {in: "  ", want: 0},
		"json seconds":       {in: float64(90), want: 90 * time.Second},
		"int seconds":        {in: 90, want: 90 * time.Second},
		"int64 seconds":      {in: int64(90), want: 90 * time.Second},
		"json.Number":        {in: json.Number("3600"), want: time.Hour},
		"string seconds":     {in: "3600", want: time.Hour},
		"padded seconds":     {in: " 60 ", want: time.Minute},
		"go duration":        {in: "1h30m", want: 90 * time.Minute},
		"days":               {in: "30d", want: 30 * 24 * time.Hour},
		"zero":               {in: "0", want: 0},
		"zero duration":      {in: "0s", want: 0},
		"duration value":     {in: 5 * time.Second, want: 5 * time.Second},
		"fraction of second": {in: "1.5s", want: 1500 * time.Millisecond},
		"negative number":    {in: float64(-1), wantErr: ErrNegative},
		"negative string":    {in: "-5", wantErr: ErrNegative},
		"negative duration":  {in: "-1h", wantErr: ErrNegative},
		"negative days":      {in: "-2d", wantErr: ErrNegative},
		"fractional number":  {in: 1.5, wantErr: ErrDuration},
		"word":               {in: "soon", wantErr: ErrDuration},
		"system":             {in: "system", wantErr: ErrDuration},
		"days fraction":      {in: "1.5d", wantErr: ErrDuration},
		"overflow seconds":   {in: "9223372036854775807", wantErr: ErrDuration},
		"overflow days":      {in: "999999999999d", wantErr: ErrDuration},
		"overflow float":     {in: 1e300, wantErr: ErrDuration},
		"bool":               {in: true, wantErr: ErrDuration},
		"list":               {in: []any{"1h"}, wantErr: ErrDuration},
	}
	for name, tc := range tests {
		got, err := NonNegativeDuration(tc.in)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && got != tc.want) {
			t.Errorf("%s: NonNegativeDuration(%#v) = %v, %v; want %v, %v", name, tc.in, got, err, tc.want, tc.wantErr)
		}
		// Duration differs only in letting negative values through.
		got, err = Duration(tc.in)
		if errors.Is(tc.wantErr, ErrNegative) {
			if err != nil || got >= 0 {
				t.Errorf("%s: Duration(%#v) = %v, %v; want a negative duration", name, tc.in, got, err)
			}
		} else if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && got != tc.want) {
			t.Errorf("%s: Duration(%#v) = %v, %v; want %v, %v", name, tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestBool(t *testing.T) {
	tests := map[string]struct {
		in      any
		want    bool
		wantErr bool
	}{
		"true":         {in: true, want: true},
		"false":        {in: false},
		"string true":  {in: "true", want: true},
		"mixed case":   {in: "TrUe", want: true},
		"t":            {in: "t", want: true},
		"T":            {in: "T", want: true},
		"1":            {in: "1", want: true},
		"0":            {in: "0"},
		"f":            {in: "F"},
		"FALSE":        {in: "FALSE"},
		"padded":       {in: " true ", want: true},
		"number 1":     {in: float64(1), want: true},
		"number 0":     {in: float64(0)},
		"json.Number":  {in: json.Number("1"), want: true},
		"int":          {in: 1, want: true},
		"yes":          {in: "yes", wantErr: true},
		"blank":        {in: "", wantErr: true},
		"two":          {in: float64(2), wantErr: true},
		"nil":          {in: nil, wantErr: true},
		"list":         {in: []any{true}, wantErr: true},
		"json.Number2": {in: json.Number("2"), wantErr: true},
	}
	for name, tc := range tests {
		got, err := Bool(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("%s: Bool(%#v) = %v, %v; want %v (error %v)", name, tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
