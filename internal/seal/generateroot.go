package seal

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
)

// GenerateRoot makes a new root token from a quorum of unseal key shares
// (sys/generate-root/*), for when none is left. The token is never shown
// in clear: it is XOR'd with a one-time password the operator keeps, and
// handed out base64-encoded. One attempt runs at a time.
//
// It is safe for concurrent use.
type GenerateRoot struct {
	seal  *Shamir
	limit *limiter
	// otpLength is the length of the root tokens the mint makes.
	otpLength int

	mu sync.Mutex
	a  *rootAttempt
}

type rootAttempt struct {
	nonce string
	otp   string
	q     quorum
}

// NewGenerateRoot returns the generate-root operation of s, for root
// tokens of tokenLength characters.
func NewGenerateRoot(s *Shamir, tokenLength int) *GenerateRoot {
	return &GenerateRoot{seal: s, limit: newLimiter(), otpLength: tokenLength}
}

// GenerateRootStatus is sys/generate-root/attempt's answer.
type GenerateRootStatus struct {
	Nonce            string `json:"nonce"`
	Started          bool   `json:"started"`
	Progress         int    `json:"progress"`
	Required         int    `json:"required"`
	Complete         bool   `json:"complete"`
	EncodedToken     string `json:"encoded_token"`
	EncodedRootToken string `json:"encoded_root_token"`
	PGPFingerprint   string `json:"pgp_fingerprint"`
	OTP              string `json:"otp"`
	OTPLength        int    `json:"otp_length"`
}

// Status reports the attempt under way, if any.
func (g *GenerateRoot) Status(ctx context.Context) (GenerateRootStatus, error) {
	cur, err := g.seal.Config(ctx)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.status(cur), nil
}

func (g *GenerateRoot) status(cur Config) GenerateRootStatus {
	st := GenerateRootStatus{Required: cur.SecretThreshold, OTPLength: g.otpLength}
	if a := g.a; a != nil {
		st.Nonce, st.Started, st.Progress = a.nonce, true, a.q.len()
	}
	return st
}

// Init starts an attempt. With otp empty the server makes the one-time
// password and returns it, this once, in the status; otherwise otp must
// be as long as a root token.
func (g *GenerateRoot) Init(ctx context.Context, otp string) (GenerateRootStatus, error) {
	if err := g.limit.take(); err != nil {
		return GenerateRootStatus{}, err
	}
	cur, err := g.seal.Config(ctx)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	generated := otp == ""
	if generated {
		otp = randid.Base62(g.otpLength)
	} else if len(otp) != g.otpLength {
		return GenerateRootStatus{}, logical.InvalidRequest("OTP string is wrong length: want %d characters", g.otpLength)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.a != nil {
		return GenerateRootStatus{}, logical.InvalidRequest("root generation already in progress")
	}
	g.a = &rootAttempt{nonce: randid.UUID(), otp: otp}
	st := g.status(cur)
	if generated {
		st.OTP = otp
	}
	return st, nil
}

// Cancel ends the attempt under way, if any.
func (g *GenerateRoot) Cancel() error {
	if err := g.limit.take(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drop()
	return nil
}

func (g *GenerateRoot) drop() {
	if g.a != nil {
		g.a.q.reset()
	}
	g.a = nil
}

// Update submits one unseal key share. At the threshold the shares are
// checked against the seal; if they are right, mint makes the root token
// and the status carries it encoded; if wrong, progress is reset and
// ErrQuorumFailed returned.
func (g *GenerateRoot) Update(ctx context.Context, share []byte, nonce string, mint func(context.Context) (string, error)) (GenerateRootStatus, error) {
	if err := g.limit.take(); err != nil {
		return GenerateRootStatus{}, err
	}
	if nonce == "" {
		return GenerateRootStatus{}, ErrNonceMissing
	}
	cur, err := g.seal.Config(ctx)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.a
	switch {
	case a == nil:
		return GenerateRootStatus{}, logical.InvalidRequest("no root generation in progress")
	case !sameNonce(nonce, a.nonce):
		return GenerateRootStatus{}, ErrNonceMismatch
	}
	if err := checkShare(share, cur.SecretShares); err != nil {
		return GenerateRootStatus{}, invalidShare(err)
	}
	if !a.q.add(share) || a.q.len() < cur.SecretThreshold {
		return g.status(cur), nil
	}
	rootKey, err := g.seal.rootKeyFrom(ctx, &a.q, cur)
	a.q.reset()
	if err != nil {
		return GenerateRootStatus{}, err
	}
	clear(rootKey)
	token, err := mint(ctx)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	encoded, err := EncodeToken(token, a.otp)
	if err != nil {
		return GenerateRootStatus{}, err
	}
	st := g.status(cur)
	st.Progress = cur.SecretThreshold
	st.Complete, st.EncodedToken, st.EncodedRootToken = true, encoded, encoded
	g.drop()
	return st, nil
}

// EncodeToken XORs token with otp, which must be as long, and encodes the
// result in unpadded base64, as Vault does.
func EncodeToken(token, otp string) (string, error) {
	if len(token) != len(otp) {
		return "", errors.New("the one-time password and the token differ in length")
	}
	b := []byte(token)
	for i := range b {
		b[i] ^= otp[i]
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

// DecodeToken reverses EncodeToken. Padded base64 is accepted too.
func DecodeToken(encoded, otp string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(encoded), "="))
	if err != nil {
		return "", errors.New("the encoded token is not valid base64")
	}
	if len(b) != len(otp) {
		return "", errors.New("the one-time password and the encoded token differ in length")
	}
	for i := range b {
		b[i] ^= otp[i]
	}
	return string(b), nil
}

// Reset drops the attempt under way, if any (the core seals).
func (g *GenerateRoot) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drop()
}
