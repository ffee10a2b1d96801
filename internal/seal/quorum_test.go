package seal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func newTestSeal(t *testing.T, shares, threshold int) (*Shamir, [][]byte, []byte) {
	t.Helper()
	s := NewShamir(inmem.New())
	root := bytes.Repeat([]byte{7}, KeySize)
	keys, err := s.Initialize(context.Background(), Config{SecretShares: shares, SecretThreshold: threshold}, root)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys, root
}

func TestRekeyStateMachine(t *testing.T) {
	ctx := context.Background()
	s, old, root := newTestSeal(t, 3, 2)
	r := NewRekey(s)
	if _, err := r.Update(ctx, old[0], "x"); err == nil {
		t.Fatal("update without an attempt")
	}
	st, err := r.Init(ctx, Config{SecretShares: 1, SecretThreshold: 1}, false)
	if err != nil || st.Required != 2 || st.T != 1 {
		t.Fatalf("init = %+v, %v", st, err)
	}
	tests := []struct {
		name  string
		share []byte
		nonce string
		want  error
	}{
		{"no nonce", old[0], "", ErrNonceMissing},
		{"wrong nonce", old[0], "nope", ErrNonceMismatch},
		{"short share", old[0][:5], st.Nonce, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Update(ctx, tc.share, tc.nonce)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A repeated share makes no progress.
	for range 2 {
		if res, err := r.Update(ctx, old[0], st.Nonce); err != nil || res != nil {
			t.Fatalf("first share: %v %v", res, err)
		}
	}
	if got, _ := r.Status(ctx); got.Progress != 1 {
		t.Fatalf("progress = %d", got.Progress)
	}
	res, err := r.Update(ctx, old[2], st.Nonce)
	if err != nil || len(res.Shares) != 1 {
		t.Fatalf("last share: %+v, %v", res, err)
	}
	// The old shares no longer open the seal; the new one does.
	var q quorum
	q.add(old[0])
	q.add(old[1])
	if _, err := s.rootKeyFrom(ctx, &q, Config{SecretShares: 3}); err == nil {
		t.Fatal("old shares still open the seal")
	}
	q = quorum{}
	q.add(res.Shares[0])
	got, err := s.rootKeyFrom(ctx, &q, Config{SecretShares: 1})
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("new share: %v", err)
	}
	if cfg, _ := s.Config(ctx); cfg.SecretShares != 1 || cfg.Type != "shamir" {
		t.Fatalf("config after rekey = %+v", cfg)
	}
}

func TestGenerateRootStateMachine(t *testing.T) {
	ctx := context.Background()
	s, keys, _ := newTestSeal(t, 3, 2)
	g := NewGenerateRoot(s, 8)
	st, err := g.Init(ctx, "")
	if err != nil || len(st.OTP) != 8 {
		t.Fatalf("init = %+v, %v", st, err)
	}
	mint := func(context.Context) (string, error) { return "hvs.abcd", nil }
	bad := bytes.Repeat([]byte{1}, KeySize+1)
	if _, err := g.Update(ctx, keys[0], st.Nonce, mint); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Update(ctx, bad, st.Nonce, mint); !errors.Is(err, ErrQuorumFailed) {
		t.Fatalf("bad share at threshold: %v", err)
	}
	if got, _ := g.Status(ctx); got.Progress != 0 || !got.Started {
		t.Fatalf("after failure: %+v", got)
	}
	if _, err := g.Update(ctx, keys[1], st.Nonce, mint); err != nil {
		t.Fatal(err)
	}
	done, err := g.Update(ctx, keys[2], st.Nonce, mint)
	if err != nil || !done.Complete {
		t.Fatalf("done = %+v, %v", done, err)
	}
	tok, err := DecodeToken(done.EncodedToken, st.OTP)
	if err != nil || tok != "hvs.abcd" {
		t.Fatalf("decoded %q, %v", tok, err)
	}
	if got, _ := g.Status(ctx); got.Started {
		t.Fatal("attempt kept after completion")
	}
}

func TestTokenEncoding(t *testing.T) {
	tests := []struct {
		name, token, otp string
		wantErr          bool
	}{
		{"round trip", "hvs.0123456789abcdefghijklmn", "ABCDEFGHIJKLMNOPQRSTUVWXYZab", false},
		{"length mismatch", "hvs.short", "ABCDEFGHIJKLMNOPQRSTUVWXYZab", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := EncodeToken(tc.token, tc.otp)
			if (err != nil) != tc.wantErr {
				t.Fatalf("encode err = %v", err)
			}
			if err != nil {
				return
			}
			if bytes.ContainsRune([]byte(enc), '=') {
				t.Errorf("padded: %q", enc)
			}
			dec, err := DecodeToken(enc+"==", tc.otp)
			if err != nil || dec != tc.token {
				t.Errorf("decode = %q, %v", dec, err)
			}
		})
	}
	// Vault's published example decodes to a token of its OTP's length.
	if tok, err := DecodeToken("PzVHSRMXERYIFCl9IhIMKwUoMz8OJBEgXAIIdQ", "WC4gXgKrEUZIRDxHRNTiiUIf9GO8"); err != nil || len(tok) != 28 || tok[:4] != "hvs." {
		t.Errorf("decode of Vault's example = %q, %v", tok, err)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter()
	l.rate = 0 // no refill: the count does not depend on the loop's speed
	n := 0
	for range 1000 {
		if l.take() == nil {
			n++
		}
	}
	if n != quorumBurst {
		t.Errorf("took %d of 1000", n)
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add("PzVHSRMXERYIFCl9IhIMKwUoMz8OJBEgXAIIdQ", "WC4gXgKrEUZIRDxHRNTiiUIf9GO8")
	f.Add("", "")
	f.Add("====", "a")
	f.Fuzz(func(t *testing.T, enc, otp string) {
		tok, err := DecodeToken(enc, otp)
		if err != nil {
			return
		}
		back, err := EncodeToken(tok, otp)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if again, err := DecodeToken(back, otp); err != nil || again != tok {
			t.Fatalf("round trip %q → %q", tok, again)
		}
	})
}
