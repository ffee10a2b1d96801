package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/shamir"
)

// Errors of the quorum operations (rekey, generate-root). Their text is
// safe to show a client and names no share.
var (
	ErrAttemptStarted     = logical.InvalidRequest("an operation is already in progress; cancel it first")
	ErrNonceMismatch      = logical.InvalidRequest("incorrect nonce supplied")
	ErrNonceMissing       = logical.InvalidRequest("missing nonce: the operation's nonce must be supplied with each key share")
	ErrQuorumFailed       = logical.InvalidRequest("the submitted key shares do not combine to the key; progress was reset, submit the shares again")
	ErrPGPNotSupported    = logical.InvalidRequest("PGP-encrypted keys are not supported")
	ErrBackupNotSupported = logical.InvalidRequest("backup of PGP-encrypted keys is not supported")
)

// quorum collects distinct key shares towards a threshold. It never holds
// more than its threshold: the share that reaches it is the last one taken
// before the attempt is combined and the shares dropped.
type quorum struct {
	shares [][]byte
}

// add takes share, reporting false (no progress) for a share already held.
func (q *quorum) add(share []byte) bool {
	for _, have := range q.shares {
		if bytes.Equal(have, share) {
			return false
		}
	}
	q.shares = append(q.shares, bytes.Clone(share))
	return true
}

func (q *quorum) len() int { return len(q.shares) }

// reset wipes the shares held.
func (q *quorum) reset() {
	for _, sh := range q.shares {
		clear(sh)
	}
	q.shares = nil
}

// combine rebuilds the secret the shares were split from. A single-share
// configuration hands out the key itself.
func (q *quorum) combine(total int) ([]byte, error) {
	if total == 1 {
		return bytes.Clone(q.shares[0]), nil
	}
	return shamir.Combine(q.shares)
}

// checkShare validates the form of one share of a total-share split.
func checkShare(share []byte, total int) error {
	want := KeySize + 1
	if total == 1 {
		want = KeySize
	}
	if len(share) != want {
		return fmt.Errorf("%w: expected %d bytes, got %d", ErrInvalidShare, want, len(share))
	}
	return nil
}

// invalidShare is checkShare's error as a client error.
func invalidShare(err error) error { return logical.InvalidRequest("%s", err.Error()) }

// splitKey makes a fresh random key and its shares under cfg.
func splitKey(cfg Config) (key []byte, shares [][]byte, err error) {
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if cfg.SecretShares == 1 {
		return key, [][]byte{bytes.Clone(key)}, nil
	}
	shares, err = shamir.Split(key, cfg.SecretShares, cfg.SecretThreshold)
	if err != nil {
		return nil, nil, fmt.Errorf("split key: %w", err)
	}
	return key, shares, nil
}

// limiter is a token bucket bounding how often the quorum endpoints do
// work, whoever calls them: an unauthenticated flood is turned away before
// it costs anything.
type limiter struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
	rate   float64 // tokens per second
	burst  float64
}

// Default limits of the quorum endpoints: far above what operators typing
// shares need, far below what a flood sends.
const (
	quorumRate  = 20
	quorumBurst = 100
)

func newLimiter() *limiter {
	return &limiter{tokens: quorumBurst, rate: quorumRate, burst: quorumBurst}
}

// ErrRateLimited is returned when the quorum endpoints are called too often.
var ErrRateLimited = &logical.Error{Kind: logical.KindRateLimited, RetryAfter: time.Second,
	Messages: []string{"too many requests to the rekey and generate-root endpoints; retry later"}}

// take spends one token, or returns ErrRateLimited.
func (l *limiter) take() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return ErrRateLimited
	}
	l.tokens--
	return nil
}

// rootKeyFrom recovers the root key from a quorum of shares under cfg:
// unseal shares that open the sealed root key, or recovery shares that
// open the check value, after which the Wrapper unwraps the root key. It
// reads only the store, so it may run with or without s.mu.
func (s *Shamir) rootKeyFrom(ctx context.Context, q *quorum, cfg Config) ([]byte, error) {
	key, err := q.combine(cfg.SecretShares)
	if err != nil {
		return nil, ErrQuorumFailed
	}
	defer clear(key)
	return s.rootKeyWith(ctx, key, cfg)
}

// rootKeyWith is rootKeyFrom given the key the shares combine to.
func (s *Shamir) rootKeyWith(ctx context.Context, key []byte, cfg Config) ([]byte, error) {
	if cfg.Recovery {
		e, err := s.store.Get(ctx, recoveryCheckKey)
		if err != nil {
			return nil, fmt.Errorf("read recovery check: %w", err)
		}
		check, err := decryptAD(key, e.Value, recoveryCheckKey)
		if err != nil {
			return nil, ErrQuorumFailed
		}
		clear(check)
		if cfg.Type != s.targetType() {
			// Migrating away from this auto seal: its stanza is disabled.
			if s.from == nil || s.from.Type() != cfg.Type {
				return nil, fmt.Errorf("the root key is wrapped by a %q seal, which is not configured", cfg.Type)
			}
			return unwrapRoot(ctx, s.store, s.from, false)
		}
		return s.AutoRootKey(ctx)
	}
	e, err := s.store.Get(ctx, rootKeyKey)
	if err != nil {
		return nil, fmt.Errorf("read sealed root key: %w", err)
	}
	rootKey, err := decrypt(key, e.Value)
	if err != nil {
		return nil, ErrQuorumFailed
	}
	return rootKey, nil
}
