package barrier

import (
	"testing"
	"time"
)

func TestRotationConfig(t *testing.T) {
	installed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	def := RotationConfig{MaxOperations: MaxRotationOperations}
	tests := map[string]struct {
		cfg      RotationConfig
		ki       KeyInfo
		now      time.Time
		due      bool
		validErr bool
	}{
		"fresh key":              {cfg: def, ki: KeyInfo{InstallTime: installed}, now: installed.Add(time.Hour)},
		"operations reached":     {cfg: RotationConfig{MaxOperations: MinRotationOperations}, ki: KeyInfo{InstallTime: installed, Encryptions: 1_000_000}, now: installed, due: true},
		"operations not reached": {cfg: RotationConfig{MaxOperations: MinRotationOperations}, ki: KeyInfo{InstallTime: installed, Encryptions: 999_999}, now: installed},
		"interval passed":        {cfg: RotationConfig{MaxOperations: MaxRotationOperations, Interval: 48 * time.Hour}, ki: KeyInfo{InstallTime: installed}, now: installed.Add(48 * time.Hour), due: true},
		"interval not passed":    {cfg: RotationConfig{MaxOperations: MaxRotationOperations, Interval: 48 * time.Hour}, ki: KeyInfo{InstallTime: installed}, now: installed.Add(47 * time.Hour)},
		"disabled":               {cfg: RotationConfig{MaxOperations: MinRotationOperations, Interval: 24 * time.Hour, Disabled: true}, ki: KeyInfo{InstallTime: installed, Encryptions: 5_000_000}, now: installed.Add(100 * time.Hour)},
		"too few operations":     {cfg: RotationConfig{MaxOperations: 10}, validErr: true},
		"too many operations":    {cfg: RotationConfig{MaxOperations: MaxRotationOperations + 1}, validErr: true},
		"interval under a day":   {cfg: RotationConfig{MaxOperations: MaxRotationOperations, Interval: time.Hour}, validErr: true},
	}
	for name, tc := range tests {
		if err := tc.cfg.Validate(); (err != nil) != tc.validErr {
			t.Errorf("%s: Validate = %v, want error %v", name, err, tc.validErr)
		}
		if tc.validErr {
			continue
		}
		if got := tc.cfg.Due(tc.ki, tc.now); got != tc.due {
			t.Errorf("%s: Due = %v, want %v", name, got, tc.due)
		}
	}
}
