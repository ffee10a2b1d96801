package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Errors of the token store.
var (
	// ErrNotFound: no live token has that ID or accessor (it never existed,
	// expired, was revoked, used up, or is a tampered batch token).
	ErrNotFound = errors.New("token not found")
	// ErrIDInUse: Create was given a custom ID that a token already has.
	ErrIDInUse = errors.New("token ID already in use")
	// ErrBatchToken: the operation (revoke, renew, accessor lookup) does not
	// apply to batch tokens.
	ErrBatchToken = errors.New("not supported for batch tokens")
)

// DefaultTTL is the default and maximum token TTL when Options leaves them
// zero, as Vault's system defaults.
const DefaultTTL = 768 * time.Hour

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// DefaultTTL and MaxTTL are the mount's (or system's) TTL defaults;
	// 768h when zero.
	DefaultTTL, MaxTTL time.Duration
	// OnRevoke is called for every revoked token, children first, before
	// its entry is deleted; if it fails the token stays and the revocation
	// stops with that error. It may see a token twice if its deletion is
	// retried, so it must be idempotent. The entry's ID is empty when the
	// store does not know it (revocation by accessor, by parent or by
	// expiry): key per-token state by Accessor.
	OnRevoke func(ctx context.Context, e *Entry) error
	// Sudo reports whether the caller of req holds sudo on req's path
	// (create with no_parent, id or period; revoke-orphan). When nil only
	// root tokens count as sudo.
	Sudo func(ctx context.Context, req *logical.Request) bool
	// IdentityPolicies answers the policies a token's identity entity
	// adds, shown by lookups as identity_policies. May be nil.
	IdentityPolicies func(entityID string) []string
}

// Storage layout inside the token store's view.
const (
	saltKey        = "salt"
	batchKeyKey    = "batch-key"
	idPrefix       = "id/"
	accessorPrefix = "accessor/"
	parentPrefix   = "parent/"
	rolePrefix     = "role/"
	expPrefix      = "exp/"
	// expIndexKey marks a view whose expiry index covers every token;
	// one written before the index existed is backfilled by the loop.
	expIndexKey = "exp-index"
	// pathIndexKey marks a view whose path index (pathindex.go) covers
	// every token; the same backfill completes it.
	pathIndexKey = "path-index"
)

// key is the HMAC of a token ID or accessor: the only form stored.
type key [sha256.Size]byte

func (k key) String() string { return hex.EncodeToString(k[:]) }

func parseKey(s string) (key, bool) {
	var k key
	if hex.DecodedLen(len(s)) != len(k) {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(s))
	return k, err == nil
}

// hasher is a reusable HMAC with scratch buffers, so that hashing a
// presented ID does not allocate.
type hasher struct {
	mac      hash.Hash
	buf, sum []byte
}

// accessorEntry is the value of an accessor index entry.
type accessorEntry struct {
	Token    string `json:"token"` // key of the token, hex
	Accessor string `json:"accessor"`
}

// Store keeps tokens in a storage view private to it. It is safe for
// concurrent use.
type Store struct {
	store   storage.Store
	opts    Options
	logger  *slog.Logger
	now     func() time.Time
	batch   *batchSealer
	hashers sync.Pool

	// locks serialise the changes to each token, so that its storage and
	// cache entries move together, and let changes to different tokens
	// share the backend's commits. A writer updates the cache after its
	// transaction commits, still holding the token's lock.
	locks keyLocks

	// revoking counts, per token, the revocations walking it; no child is
	// created under a token while it is marked (see markRevoking).
	rmu      sync.Mutex
	revoking map[key]int

	mu    sync.RWMutex
	cache map[key]*Entry // entries are immutable once cached
	// cacheMax bounds the cache; an insert into a full cache evicts a
	// random entry.
	cacheMax int
	// gen is bumped on every write and removal; a cache fill from storage
	// is dropped if gen moved meanwhile, so that a stale read never undoes
	// a concurrent change or revocation.
	gen uint64

	exp expiry
	// backfill is set when the view holds tokens older than the expiry
	// index; the loop indexes them before its first pass.
	backfill bool

	// created counts tokens created since Open (vault_token_creation).
	created atomic.Uint64

	loopMu sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Created counts the tokens created since Open.
func (s *Store) Created() uint64 { return s.created.Load() }

// cacheSize bounds the entry cache.
const cacheSize = 8192

// Open returns a store over s, creating its salt and batch key on first use.
// It reads a fixed handful of keys whatever the number of tokens: entries
// are read on demand and the expiry index lives in storage.
func Open(ctx context.Context, s storage.Store, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultTTL <= 0 {
		opts.DefaultTTL = DefaultTTL
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = DefaultTTL
	}
	opts.DefaultTTL = min(opts.DefaultTTL, opts.MaxTTL)
	salt, fresh, err := secretOnce(ctx, s, saltKey)
	if err != nil {
		return nil, fmt.Errorf("token store salt: %w", err)
	}
	backfill, err := needsBackfill(ctx, s, fresh)
	if err != nil {
		return nil, err
	}
	bk, _, err := secretOnce(ctx, s, batchKeyKey)
	if err != nil {
		return nil, fmt.Errorf("token store batch key: %w", err)
	}
	batch, err := newBatchSealer(bk)
	if err != nil {
		return nil, err
	}
	ts := &Store{
		store:    s,
		opts:     opts,
		logger:   opts.Logger,
		now:      opts.Now,
		batch:    batch,
		cache:    make(map[key]*Entry),
		cacheMax: cacheSize,
		exp:      expiry{wake: make(chan struct{}, 1)},
		backfill: backfill,
	}
	ts.hashers.New = func() any { return &hasher{mac: hmac.New(sha256.New, salt)} }
	return ts, nil
}

// needsBackfill reports whether the view may hold tokens missing from the
// expiry index. A fresh view (its salt just created) holds none and is
// marked as indexed at once.
func needsBackfill(ctx context.Context, s storage.Store, fresh bool) (bool, error) {
	if fresh {
		if err := markIndexed(ctx, s); err != nil {
			return false, err
		}
		return false, nil
	}
	for _, mark := range []string{expIndexKey, pathIndexKey} {
		_, err := s.Get(ctx, mark)
		if errors.Is(err, storage.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read index mark: %w", err)
		}
	}
	return false, nil
}

// markIndexed records that the expiry and path indexes cover every token.
func markIndexed(ctx context.Context, s storage.Writer) error {
	for _, mark := range []string{expIndexKey, pathIndexKey} {
		if err := s.Put(ctx, &storage.Entry{Key: mark, Value: []byte{}}); err != nil {
			return fmt.Errorf("mark index: %w", err)
		}
	}
	return nil
}

// secretOnce returns the 32 random bytes stored under name, creating them
// on first use (created reports that).
func secretOnce(ctx context.Context, s storage.Store, name string) (out []byte, created bool, err error) {
	err = s.Update(ctx, func(tx storage.Tx) error {
		created = false
		e, err := tx.Get(ctx, name)
		if err == nil {
			out = e.Value
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		out, created = make([]byte, 32), true
		if _, err := rand.Read(out); err != nil {
			return err
		}
		return tx.Put(ctx, &storage.Entry{Key: name, Value: out})
	})
	return out, created, err
}

// key is the storage name of a token ID or accessor.
func (s *Store) key(id string) key {
	h := s.hashers.Get().(*hasher)
	h.mac.Reset()
	h.buf = append(h.buf[:0], id...)
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	var k key
	copy(k[:], h.sum)
	if cap(h.buf) > 4096 { // do not pin a huge presented "token"
		h.buf = nil
	}
	s.hashers.Put(h)
	return k
}

// read loads the entry under k from storage.
func (s *Store) read(ctx context.Context, k key) (*Entry, error) {
	se, err := s.store.Get(ctx, idPrefix+k.String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	e := new(Entry)
	if err := json.Unmarshal(se.Value, e); err != nil {
		return nil, fmt.Errorf("decode token: %w", err)
	}
	return e, nil
}

// entry returns the entry under k, live or not, from the cache or storage.
func (s *Store) entry(ctx context.Context, k key) (*Entry, error) {
	s.mu.RLock()
	e, gen := s.cache[k], s.gen
	s.mu.RUnlock()
	if e != nil {
		return e, nil
	}
	e, err := s.read(ctx, k)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	// A write or removal since the read may have changed or deleted what
	// we read: do not cache a stale entry.
	if s.gen == gen {
		if c := s.cache[k]; c != nil {
			e = c
		} else {
			s.insertLocked(k, e)
		}
	}
	s.mu.Unlock()
	return e, nil
}

// insertLocked caches e under k, evicting a random entry when the cache is
// full. Callers hold s.mu.
func (s *Store) insertLocked(k key, e *Entry) {
	if _, ok := s.cache[k]; !ok && len(s.cache) >= s.cacheMax {
		for victim := range s.cache { // map order is randomised
			delete(s.cache, victim)
			break
		}
	}
	s.cache[k] = e
}

// Invalidate forgets what the store caches of the storage key (relative to
// its view) that another node changed: a Raft follower's notice of a
// replicated write. Only token entries are cached.
func (s *Store) Invalidate(storageKey string) {
	if rest, ok := strings.CutPrefix(storageKey, idPrefix); ok {
		if k, ok := parseKey(rest); ok {
			s.dropCache(k)
		}
	}
}

// setCache replaces the cached entry under k.
func (s *Store) setCache(k key, e *Entry) {
	s.mu.Lock()
	s.insertLocked(k, e)
	s.gen++
	s.mu.Unlock()
}

// dropCache removes k from the cache.
func (s *Store) dropCache(k key) {
	s.mu.Lock()
	delete(s.cache, k)
	s.gen++
	s.mu.Unlock()
}

// Lookup returns the live token with that ID, or ErrNotFound. An accessor
// is not a token ID and is never found here. The entry is shared with the
// cache: do not modify it. A cache hit neither touches storage nor
// allocates.
func (s *Store) Lookup(ctx context.Context, id string) (*Entry, error) {
	return s.lookup(ctx, id, false)
}

// lookup is Lookup; spent also finds a token whose last use is being
// taken, for the request in flight that took it (lookup-self, revoke-self).
func (s *Store) lookup(ctx context.Context, id string, spent bool) (*Entry, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	if len(id) > len(BatchPrefix) && id[:len(BatchPrefix)] == BatchPrefix {
		return s.lookupBatch(ctx, id)
	}
	k := s.key(id)
	e, err := s.entry(ctx, k)
	if err != nil {
		return nil, err
	}
	if e.Expired(s.now()) || (e.NumUses < 0 && !spent) {
		return nil, ErrNotFound
	}
	if e.ID != id {
		// First presentation since Open: remember the ID in memory.
		c := e.clone()
		c.ID = id
		s.mu.Lock()
		if s.cache[k] == e {
			s.cache[k] = c
		}
		s.mu.Unlock()
		e = c
	}
	return e, nil
}

// LookupAccessor returns a copy of the live token with that accessor, its
// ID left empty, or ErrNotFound.
func (s *Store) LookupAccessor(ctx context.Context, accessor string) (*Entry, error) {
	k, err := s.keyByAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	e, err := s.entry(ctx, k)
	if err != nil {
		return nil, err
	}
	if !e.live(s.now()) {
		return nil, ErrNotFound
	}
	c := e.clone()
	c.ID = ""
	return c, nil
}

// keyByAccessor resolves an accessor to its token's key.
func (s *Store) keyByAccessor(ctx context.Context, accessor string) (key, error) {
	if accessor == "" {
		return key{}, ErrNotFound
	}
	se, err := s.store.Get(ctx, accessorPrefix+s.key(accessor).String())
	if errors.Is(err, storage.ErrNotFound) {
		return key{}, ErrNotFound
	}
	if err != nil {
		return key{}, fmt.Errorf("read accessor index: %w", err)
	}
	var ae accessorEntry
	if err := json.Unmarshal(se.Value, &ae); err != nil {
		return key{}, fmt.Errorf("decode accessor index: %w", err)
	}
	k, ok := parseKey(ae.Token)
	if !ok {
		return key{}, fmt.Errorf("accessor index: malformed token key")
	}
	return k, nil
}

// Create stores a new token and returns a copy with ID and Accessor filled
// in. A caller-chosen ID (dev mode's -dev-root-token-id) is kept if set; a
// Parent, if set, is the HMAC of a live token. Create applies no policy or
// TTL rules beyond ExpireTime = CreationTime + TTL: callers decide those
// (CreateFromAuth and the create endpoints do).
func (s *Store) Create(ctx context.Context, e *Entry) (*Entry, error) {
	e = e.clone()
	if e.Type == "" {
		e.Type = TypeService
	}
	if e.CreationTime.IsZero() {
		e.CreationTime = s.now().UTC().Truncate(time.Second)
	}
	if e.TTL > 0 && e.ExpireTime.IsZero() {
		e.ExpireTime = e.CreationTime.Add(e.TTL)
	}
	e.Orphan = e.Parent == ""
	if e.Type == TypeBatch {
		e, err := s.createBatch(e)
		if err == nil {
			s.created.Add(1)
		}
		return e, err
	}
	if e.ID == "" {
		e.ID = ServicePrefix + randid.Base62(24)
	}
	e.Accessor = randid.Base62(24)
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode token: %w", err)
	}
	k := s.key(e.ID)
	ae, _ := json.Marshal(accessorEntry{Token: k.String(), Accessor: e.Accessor})

	if e.Parent == "" {
		defer s.locks.lock(k)()
	} else {
		pk, ok := parseKey(e.Parent)
		if !ok {
			return nil, fmt.Errorf("store token: parent: %w", ErrNotFound)
		}
		// The parent is held shared: siblings are created concurrently,
		// while a revocation of the parent waits for them.
		defer s.locks.lockUnder(k, pk)()
		if s.isRevoking(pk) {
			return nil, fmt.Errorf("store token: parent: %w", ErrNotFound)
		}
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(ctx, idPrefix+k.String()); err == nil {
			return ErrIDInUse
		}
		if e.Parent != "" {
			// Checked in the transaction: a child must not outlive a
			// parent revoked concurrently.
			if _, err := tx.Get(ctx, idPrefix+e.Parent); errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("parent: %w", ErrNotFound)
			} else if err != nil {
				return err
			}
			if err := tx.Put(ctx, &storage.Entry{Key: parentPrefix + e.Parent + "/" + k.String(), Value: []byte{}}); err != nil {
				return err
			}
		}
		if err := tx.Put(ctx, &storage.Entry{Key: idPrefix + k.String(), Value: raw}); err != nil {
			return err
		}
		if err := putExpiry(ctx, tx, e, k); err != nil {
			return err
		}
		if err := putPath(ctx, tx, e, k); err != nil {
			return err
		}
		return tx.Put(ctx, &storage.Entry{Key: accessorPrefix + s.key(e.Accessor).String(), Value: ae})
	})
	if err != nil {
		return nil, fmt.Errorf("store token: %w", err)
	}
	s.setCache(k, e.clone())
	s.exp.schedule(e.ExpireTime)
	s.created.Add(1)
	return e, nil
}

// write persists e, a changed version of old, with its expiry index entry
// moved in the same transaction if its expiry changed, and swaps it into
// the cache. Callers hold the lock of k.
func (s *Store) write(ctx context.Context, k key, old, e *Entry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode token: %w", err)
	}
	moved := !old.ExpireTime.Equal(e.ExpireTime)
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(ctx, &storage.Entry{Key: idPrefix + k.String(), Value: raw}); err != nil {
			return err
		}
		if !moved {
			return nil
		}
		if err := deleteExpiry(ctx, tx, old, k); err != nil {
			return err
		}
		return putExpiry(ctx, tx, e, k)
	})
	if err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	s.setCache(k, e)
	if moved {
		s.exp.schedule(e.ExpireTime)
	}
	return nil
}

// Use takes one use of a token with limited uses. It is called once per
// authenticated request: it reports ErrNotFound when no use is left, and
// last=true when it took the final one, after which the caller revokes the
// token. Tokens with unlimited uses (and batch tokens) are not changed.
// Uses are counted exactly under concurrency.
func (s *Store) Use(ctx context.Context, e *Entry) (last bool, err error) {
	if e.NumUses == 0 || e.Type == TypeBatch {
		return false, nil
	}
	k := s.key(e.ID)
	defer s.locks.lock(k)()
	cur, err := s.entry(ctx, k)
	if err != nil {
		return false, err
	}
	if !cur.live(s.now()) {
		return false, ErrNotFound
	}
	if cur.NumUses == 0 {
		return false, nil
	}
	n := cur.clone()
	n.NumUses--
	if n.NumUses == 0 {
		n.NumUses, last = -1, true
	}
	if err := s.write(ctx, k, cur, n); err != nil {
		return false, err
	}
	return last, nil
}
