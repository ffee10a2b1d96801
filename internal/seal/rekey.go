package seal

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Rekey replaces the unseal key and its shares, given a quorum of the
// current ones: sys/rekey/init, update and verify. One attempt runs at a
// time and one nonce ties its steps together. With verification the new
// shares are handed out first and take effect only once a quorum of them
// has been submitted back; until then the old shares stay valid.
//
// It is safe for concurrent use.
type Rekey struct {
	seal  *Shamir
	limit *limiter

	mu sync.Mutex
	a  *rekeyAttempt
}

type rekeyAttempt struct {
	nonce  string
	cfg    Config // the new configuration
	verify bool
	old    quorum // shares of the current unseal key

	// Set once the old quorum is reached and verification is required.
	newKey      []byte
	rootKey     []byte
	verifyNonce string
	fresh       quorum // shares of the new key, submitted back
}

// NewRekey returns the rekey operation of s.
func NewRekey(s *Shamir) *Rekey { return &Rekey{seal: s, limit: newLimiter()} }

// RekeyStatus is sys/rekey/init's answer.
type RekeyStatus struct {
	Nonce                string   `json:"nonce"`
	Started              bool     `json:"started"`
	T                    int      `json:"t"`
	N                    int      `json:"n"`
	Progress             int      `json:"progress"`
	Required             int      `json:"required"`
	PGPFingerprints      []string `json:"pgp_fingerprints"`
	Backup               bool     `json:"backup"`
	VerificationRequired bool     `json:"verification_required"`
	VerificationNonce    string   `json:"verification_nonce,omitempty"`
}

// RekeyResult is sys/rekey/update's answer once the quorum is reached.
type RekeyResult struct {
	Nonce                string   `json:"nonce"`
	Complete             bool     `json:"complete"`
	Keys                 []string `json:"keys"`
	KeysBase64           []string `json:"keys_base64"`
	PGPFingerprints      []string `json:"pgp_fingerprints"`
	Backup               bool     `json:"backup"`
	VerificationRequired bool     `json:"verification_required"`
	VerificationNonce    string   `json:"verification_nonce,omitempty"`
	// Shares are the new key shares, for Keys and KeysBase64.
	Shares [][]byte `json:"-"`
}

// VerifyStatus is sys/rekey/verify's answer.
type VerifyStatus struct {
	Nonce    string `json:"nonce"`
	Started  bool   `json:"started"`
	T        int    `json:"t"`
	N        int    `json:"n"`
	Progress int    `json:"progress"`
}

// Status reports the attempt under way, if any.
func (r *Rekey) Status(ctx context.Context) (RekeyStatus, error) {
	cur, err := r.seal.Config(ctx)
	if err != nil {
		return RekeyStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status(cur), nil
}

func (r *Rekey) status(cur Config) RekeyStatus {
	st := RekeyStatus{Required: cur.SecretThreshold}
	if a := r.a; a != nil {
		st.Nonce, st.Started = a.nonce, true
		st.T, st.N = a.cfg.SecretThreshold, a.cfg.SecretShares
		st.Progress = a.old.len()
		st.VerificationRequired = a.verify
		st.VerificationNonce = a.verifyNonce
	}
	return st
}

// Init starts an attempt towards cfg. It fails while another is under way.
func (r *Rekey) Init(ctx context.Context, cfg Config, verify bool) (RekeyStatus, error) {
	if err := r.limit.take(); err != nil {
		return RekeyStatus{}, err
	}
	if err := cfg.Validate(); err != nil {
		return RekeyStatus{}, logical.InvalidRequest("%s", err.Error())
	}
	cur, err := r.seal.Config(ctx)
	if err != nil {
		return RekeyStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a != nil {
		return RekeyStatus{}, ErrAttemptStarted
	}
	cfg.Type, cfg.Recovery = cur.Type, cur.Recovery
	r.a = &rekeyAttempt{nonce: randid.UUID(), cfg: cfg, verify: verify}
	return r.status(cur), nil
}

// Cancel ends the attempt under way, wiping what it holds. A non-empty
// nonce must be the attempt's.
func (r *Rekey) Cancel(nonce string) error {
	if err := r.limit.take(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a == nil {
		return nil
	}
	if nonce != "" && !sameNonce(nonce, r.a.nonce) {
		return ErrNonceMismatch
	}
	r.drop()
	return nil
}

func (r *Rekey) drop() {
	if a := r.a; a != nil {
		a.old.reset()
		a.fresh.reset()
		clear(a.newKey)
		clear(a.rootKey)
	}
	r.a = nil
}

// Update submits one share of the current unseal key. It returns nil
// while more are needed. At the threshold the shares are combined: if
// they are wrong the progress is reset and ErrQuorumFailed returned; if
// right, the new shares are returned, already in force unless
// verification is required.
func (r *Rekey) Update(ctx context.Context, share []byte, nonce string) (*RekeyResult, error) {
	if err := r.limit.take(); err != nil {
		return nil, err
	}
	if nonce == "" {
		return nil, ErrNonceMissing
	}
	cur, err := r.seal.Config(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.a
	switch {
	case a == nil:
		return nil, logical.InvalidRequest("no rekey in progress")
	case !sameNonce(nonce, a.nonce):
		return nil, ErrNonceMismatch
	case a.newKey != nil:
		return nil, logical.InvalidRequest("the new key shares await verification; submit them to sys/rekey/verify")
	}
	if err := checkShare(share, cur.SecretShares); err != nil {
		return nil, invalidShare(err)
	}
	if !a.old.add(share) || a.old.len() < cur.SecretThreshold {
		return nil, nil
	}
	rootKey, err := r.seal.rootKeyFrom(ctx, &a.old, cur)
	a.old.reset()
	if err != nil {
		return nil, err
	}
	newKey, shares, err := splitKey(a.cfg)
	if err != nil {
		clear(rootKey)
		return nil, err
	}
	res := &RekeyResult{Nonce: a.nonce, Complete: true, Shares: shares}
	if a.verify {
		// Both keys wait in memory, wiped on cancel, until the new
		// shares have proved themselves.
		a.newKey, a.rootKey = newKey, rootKey
		a.verifyNonce = randid.UUID()
		res.VerificationRequired, res.VerificationNonce = true, a.verifyNonce
		return res, nil
	}
	defer clear(newKey)
	defer clear(rootKey)
	if err := r.seal.replace(ctx, a.cfg, newKey, rootKey); err != nil {
		return nil, err
	}
	r.drop()
	return res, nil
}

// VerifyStatus reports the verification under way.
func (r *Rekey) VerifyStatus() (VerifyStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a == nil || r.a.newKey == nil {
		return VerifyStatus{}, logical.InvalidRequest("no rekey verification in progress")
	}
	return r.verifyStatus(), nil
}

func (r *Rekey) verifyStatus() VerifyStatus {
	a := r.a
	return VerifyStatus{Nonce: a.verifyNonce, Started: true, T: a.cfg.SecretThreshold, N: a.cfg.SecretShares, Progress: a.fresh.len()}
}

// VerifyCancel restarts the verification: its progress is dropped and it
// gets a new nonce; the new shares handed out stay the same.
func (r *Rekey) VerifyCancel() (VerifyStatus, error) {
	if err := r.limit.take(); err != nil {
		return VerifyStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a == nil || r.a.newKey == nil {
		return VerifyStatus{}, logical.InvalidRequest("no rekey verification in progress")
	}
	r.a.fresh.reset()
	r.a.verifyNonce = randid.UUID()
	return r.verifyStatus(), nil
}

// VerifyUpdate submits one of the new shares. It reports true once a
// quorum of them rebuilt the new key, which is then in force and the old
// shares useless. Wrong shares reset the verification's progress.
func (r *Rekey) VerifyUpdate(ctx context.Context, share []byte, nonce string) (VerifyStatus, bool, error) {
	if err := r.limit.take(); err != nil {
		return VerifyStatus{}, false, err
	}
	if nonce == "" {
		return VerifyStatus{}, false, ErrNonceMissing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.a
	switch {
	case a == nil || a.newKey == nil:
		return VerifyStatus{}, false, logical.InvalidRequest("no rekey verification in progress")
	case !sameNonce(nonce, a.verifyNonce):
		return VerifyStatus{}, false, ErrNonceMismatch
	}
	if err := checkShare(share, a.cfg.SecretShares); err != nil {
		return VerifyStatus{}, false, invalidShare(err)
	}
	if !a.fresh.add(share) || a.fresh.len() < a.cfg.SecretThreshold {
		return r.verifyStatus(), false, nil
	}
	got, err := a.fresh.combine(a.cfg.SecretShares)
	a.fresh.reset()
	if err != nil || subtle.ConstantTimeCompare(got, a.newKey) != 1 {
		clear(got)
		return VerifyStatus{}, false, ErrQuorumFailed
	}
	clear(got)
	if err := r.seal.replace(ctx, a.cfg, a.newKey, a.rootKey); err != nil {
		return VerifyStatus{}, false, err
	}
	st := r.verifyStatus()
	r.drop()
	return st, true, nil
}

func sameNonce(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// replace puts the seal under a new key (unseal or recovery) and
// configuration, in one transaction: from then on only the new shares
// work.
func (s *Shamir) replace(ctx context.Context, cfg Config, key, rootKey []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.config(ctx)
	if err != nil {
		return err
	}
	cfg.Type, cfg.Recovery = cur.Type, cur.Recovery
	entries, err := s.sealEntries(ctx, cfg, key, rootKey)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		for _, e := range entries {
			if err := tx.Put(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store rekeyed seal: %w", err)
	}
	s.cfg = &cfg
	return nil
}

// Recovery reports whether the seal's shares are recovery shares
// (auto-unseal), for sys/rekey-recovery-key.
func (r *Rekey) Recovery(ctx context.Context) bool {
	cfg, err := r.seal.Config(ctx)
	return err == nil && cfg.Recovery
}

// Reset drops the attempt under way, if any (the core seals).
func (r *Rekey) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop()
}
