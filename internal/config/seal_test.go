package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseSeal(t *testing.T) {
	tests := map[string]struct {
		src     string
		want    []Seal
		wantErr error
	}{
		"static": {
			src: `seal "static" {
  current_key_id = "k2"
  current_key    = "file:///etc/tresor/key"
  previous_key_id = "k1"
  previous_key   = "env://OLD_KEY"
}`,
			want: []Seal{{Type: "static", Config: map[string]string{"current_key_id": "k2", "current_key": "file:///etc/tresor/key",
				"previous_key_id": "k1", "previous_key": "env://OLD_KEY"}}},
		},
		"transit with booleans": {
			src: `seal "transit" {
  address = "https://vault:8200"
  key_name = "autounseal"
  tls_skip_verify = true
  disable_renewal = "false"
}`,
			want: []Seal{{Type: "transit", Config: map[string]string{"address": "https://vault:8200", "key_name": "autounseal",
				"tls_skip_verify": "true", "disable_renewal": "false"}}},
		},
		"migration pair": {
			src: `seal "static" {
  disabled = "true"
  current_key_id = "a"
}
seal "transit" {
  key_name = "k"
}`,
			want: []Seal{{Type: "static", Disabled: true, Config: map[string]string{"current_key_id": "a"}},
				{Type: "transit", Config: map[string]string{"key_name": "k"}}},
		},
		"cloud kms refused": {src: `seal "awskms" { region = "x" }`, wantErr: ErrUnsupported},
		"bad disabled":      {src: `seal "static" { disabled = "perhaps" }`, wantErr: ErrInvalidValue},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse("s.hcl", []byte(tt.src))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Seals {
				got.Seals[i].at = ""
			}
			if !reflect.DeepEqual(got.Seals, tt.want) {
				t.Errorf("seals:\n got %+v\nwant %+v", got.Seals, tt.want)
			}
		})
	}
	two, err := Parse("s.hcl", []byte(`seal "static" {}
seal "transit" {}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := two.Validate(true); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("two enabled seals: %v", err)
	}
}
