package barrier

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

func TestVerify(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	const plaintext = "verify never returns this"
	if err := b.Put(ctx, &storage.Entry{Key: "secret/a", Value: []byte(plaintext)}); err != nil {
		t.Fatal(err)
	}
	raw := func(key string) []byte {
		e, err := under.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return e.Value
	}
	value, ring := raw("secret/a"), raw(keyringKey)
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	// A second, unrelated barrier: its values are another cluster's.
	other, otherUnder := newUnsealed(t)
	if err := other.Put(ctx, &storage.Entry{Key: "secret/a", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	foreign, _ := otherUnder.Get(ctx, "secret/a")
	damagedRing := bytes.Clone(raw(keyringKey))
	damagedRing[len(damagedRing)-1] ^= 1

	cases := map[string]struct {
		key     string
		value   []byte
		wantErr bool
	}{
		"value of an older term":   {key: "secret/a", value: value},
		"keyring before rotation":  {key: keyringKey, value: ring},
		"current keyring":          {key: keyringKey, value: raw(keyringKey)},
		"flipped tag":              {key: "secret/a", value: flip(len(value) - 1)(slices.Clone(value)), wantErr: true},
		"moved to another key":     {key: "secret/b", value: value, wantErr: true},
		"truncated":                {key: "secret/a", value: value[:len(value)-1], wantErr: true},
		"another cluster's value":  {key: "secret/a", value: foreign.Value, wantErr: true},
		"damaged keyring":          {key: keyringKey, value: damagedRing, wantErr: true},
		"keyring under a data key": {key: keyringKey, value: setTerm(1)(slices.Clone(ring)), wantErr: true},
		"not barrier format":       {key: "seal/config", value: []byte(`{"secret_shares":1}`), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := b.Verify(tc.key, tc.value)
			if tc.wantErr != (err != nil) {
				t.Fatalf("Verify = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrDecrypt) {
				t.Errorf("error %v does not wrap ErrDecrypt", err)
			}
			if err != nil && strings.Contains(err.Error(), plaintext) {
				t.Errorf("error shows the plaintext")
			}
		})
	}
	b.Seal()
	if err := b.Verify("secret/a", value); !errors.Is(err, ErrSealed) {
		t.Errorf("Verify while sealed = %v, want ErrSealed", err)
	}
}
