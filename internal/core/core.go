// Package core answers every logical request: it owns the seal state and
// runs each request through the pipeline — sealed check, routing, token,
// policy, backend — without owning any feature logic itself.
//
// A Core starts sealed. Initialize creates the keys; Unseal, fed enough key
// shares, opens the barrier and mounts the built-in backends; Seal closes it.
package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/backup"
	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/cors"
	"github.com/tresorhq/tresor/internal/identity"
	"github.com/tresorhq/tresor/internal/lease"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/policy"
	"github.com/tresorhq/tresor/internal/quota"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/telemetry"
	"github.com/tresorhq/tresor/internal/token"
)

// Config holds what a Core is built from.
type Config struct {
	// Storage is the physical store; the core puts the barrier on top.
	Storage     storage.Store
	StorageType string
	Logger      *slog.Logger
	// System builds the backend mounted at sys/ once the core is unsealed.
	System func(c *Core) logical.Backend
	// Backends are the secrets engines and auth methods that can be
	// mounted, by type.
	Backends        map[string]logical.Factory
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	// AuditForbiddenDirs are directories audit files may not be written
	// into (the data directory).
	AuditForbiddenDirs []string
	// Seal, when set, makes this an auto-unseal core: Seal wraps the
	// root key, the core unseals itself (StartAutoUnseal) and the key
	// shares are recovery shares.
	Seal seal.Wrapper
	// SealFrom is the auto-unseal seal being migrated away from (a
	// disabled seal stanza), if any.
	SealFrom seal.Wrapper
	// DeclaredAudit are audit devices declared in the server
	// configuration: enabled at every unseal, never stored, not removable
	// through the API.
	DeclaredAudit []audit.DeviceConfig
	// HA, when set, makes this core one node of an active/standby
	// cluster (see HA).
	HA *HA
}

// Core is the heart of the server. It is safe for concurrent use.
type Core struct {
	cfg     Config
	logger  *slog.Logger
	barrier *barrier.Barrier
	seal    *seal.Shamir
	rekey   *seal.Rekey
	genRoot *seal.GenerateRoot
	// autoStop ends the auto-unseal loop, autoDone closes when it has.
	autoMu   sync.Mutex
	autoStop context.CancelFunc
	autoDone chan struct{}

	// state is held for reading by every request and for writing by seal
	// state transitions, so sealing waits for requests in flight.
	state  sync.RWMutex
	sealed bool
	// sealedNow mirrors sealed for readers that cannot take state.
	sealedNow atomic.Bool
	tokens    *token.Store
	policies  *policy.Store
	identity  *identity.Store
	mounts    *mount.Table
	// mountMu serialises changes of the mount table.
	mountMu sync.Mutex
	audit   *audit.Broker
	// auditMu serialises changes of the audit table, auditDevs.
	auditMu   sync.Mutex
	auditDevs []*audit.DeviceConfig
	declared  []*audit.DeviceConfig

	leases  *lease.Manager
	quotas  *quota.Manager
	metrics *telemetry.Metrics
	// revoked counts revoked tokens; created ones are counted by the store,
	// whose counter restarts at every unseal, so createdBefore keeps the
	// total of earlier unseals.
	revoked       atomic.Uint64
	createdBefore atomic.Uint64
	cluster       clusterInfo

	// bg is cancelled when the core seals; bgWork counts the background
	// work running under it (owed cleanups).
	bg       context.Context
	bgCancel context.CancelFunc
	bgWork   sync.WaitGroup

	// cors is the cross-origin policy (nil: disabled); see CORS.
	cors atomic.Pointer[cors.Policy]

	// backups is the scheduled backups' scheduler, if configured.
	backups atomic.Pointer[backup.Scheduler]
	// HA (see ha.go): standby is held under state, standbyNow mirrors
	// it; activeTime is when this node became active (UnixNano, 0 when
	// not active); haRun is the running HA loop.
	standby    bool
	standbyNow atomic.Bool
	activeTime atomic.Int64
	haRun      *haRun
	// replica is a standby's state for standby reads (standbyread.go).
	replica replica
}

type clusterInfo struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Storage keys (through the barrier) of the core's own state.
const (
	clusterKey    = "core/cluster"
	tokenPrefix   = "sys/token/"
	keyringRawKey = "barrier/keyring"
	quotaPrefix   = "sys/quotas/"
)

// New returns a sealed core over cfg.Storage.
func New(cfg Config) (*Core, error) {
	if cfg.Storage == nil {
		return nil, errors.New("core: no storage")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Core{
		cfg:     cfg,
		logger:  cfg.Logger,
		barrier: barrier.New(cfg.Storage),
		seal:    seal.NewShamir(cfg.Storage),
		sealed:  true,
	}
	if cfg.Seal != nil {
		c.seal = seal.NewAuto(cfg.Storage, cfg.Seal)
	}
	c.seal.SetMigrationSource(cfg.SealFrom)
	c.sealedNow.Store(true)
	c.rekey = seal.NewRekey(c.seal)
	c.genRoot = seal.NewGenerateRoot(c.seal, rootTokenLength)
	c.metrics = telemetry.New(c)
	return c, nil
}

// Initialized reports whether Initialize has completed on this storage.
func (c *Core) Initialized(ctx context.Context) (bool, error) {
	_, err := c.seal.Config(ctx)
	if errors.Is(err, seal.ErrNotInitialized) {
		return false, nil
	}
	return err == nil, err
}

// ErrAlreadyInitialized is returned by Initialize on an initialised core.
var ErrAlreadyInitialized = &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"Vault is already initialized"}}

// Initialize creates the keyring, the root key, the unseal key shares and a
// root token, and returns the shares and the root token: the only time they
// are ever shown. rootTokenID fixes the root token's ID (dev mode); it is
// random when empty. A Shamir core stays sealed; an auto-unseal core
// unseals itself, and keys are its recovery shares.
func (c *Core) Initialize(ctx context.Context, cfg seal.Config, rootTokenID string) (keys [][]byte, rootToken string, err error) {
	keys, rootToken, err = c.initialize(ctx, cfg, rootTokenID)
	if err == nil && c.seal.Wrapper() != nil {
		if _, uerr := c.AutoUnseal(ctx); uerr != nil {
			c.logger.Warn("seal: initialized but not unsealed yet", "error", uerr)
			c.StartAutoUnseal()
		}
	}
	return keys, rootToken, err
}

func (c *Core) initialize(ctx context.Context, cfg seal.Config, rootTokenID string) (keys [][]byte, rootToken string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, "", logical.InvalidRequest("%s", err.Error())
	}
	c.state.Lock()
	defer c.state.Unlock()
	if ok, err := c.Initialized(ctx); err != nil {
		return nil, "", err
	} else if ok {
		return nil, "", ErrAlreadyInitialized
	}
	// The seal config is written last and marks completion. A keyring
	// without one is left by a crash mid-initialisation: its root key was
	// never handed out, so nothing it protects can ever be read.
	if err := c.cfg.Storage.Delete(ctx, keyringRawKey); err != nil {
		return nil, "", fmt.Errorf("clear partial initialisation: %w", err)
	}

	rootKey := make([]byte, seal.KeySize)
	if _, err := rand.Read(rootKey); err != nil {
		return nil, "", fmt.Errorf("generate root key: %w", err)
	}
	defer clear(rootKey)
	if err := c.barrier.Initialize(ctx, rootKey); err != nil {
		return nil, "", fmt.Errorf("initialize barrier: %w", err)
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return nil, "", fmt.Errorf("unseal new barrier: %w", err)
	}
	defer c.barrier.Seal()

	cluster := clusterInfo{Name: "tresor-cluster-" + randomHex(4), ID: randid.UUID()}
	raw, _ := json.Marshal(cluster)
	if err := c.barrier.Put(ctx, &storage.Entry{Key: clusterKey, Value: raw}); err != nil {
		return nil, "", fmt.Errorf("store cluster info: %w", err)
	}
	tokens, err := token.Open(ctx, storage.NewView(c.barrier, tokenPrefix), c.tokenOptions())
	if err != nil {
		return nil, "", err
	}
	root, err := tokens.Create(ctx, &token.Entry{
		ID:          rootTokenID,
		Policies:    []string{"root"},
		DisplayName: "root",
		Path:        "auth/token/root",
		Orphan:      true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create root token: %w", err)
	}
	keys, err = c.seal.Initialize(ctx, cfg, rootKey)
	if err != nil {
		return nil, "", fmt.Errorf("initialize seal: %w", err)
	}
	c.logger.Info("core initialized", "secret_shares", cfg.SecretShares, "secret_threshold", cfg.SecretThreshold)
	return keys, root.ID, nil
}

// Unseal submits one key share. It reports whether the core is unsealed
// afterwards. A share of the wrong form, or a combination of shares that is
// wrong, is an *logical.Error (400).
func (c *Core) Unseal(ctx context.Context, share []byte) (bool, error) {
	return c.submitShare(ctx, share, c.seal.Submit, "core unsealed")
}

// submitShare hands share to submit (the seal's plain or migrating
// unseal) and unseals the core with the root key once a quorum is in.
func (c *Core) submitShare(ctx context.Context, share []byte, submit func(context.Context, []byte) ([]byte, error), done string) (bool, error) {
	c.state.Lock()
	defer c.state.Unlock()
	if !c.sealed {
		return true, nil
	}
	rootKey, err := submit(ctx, share)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		return false, logical.ErrNotInitialized
	case errors.Is(err, seal.ErrInvalidShare), errors.Is(err, seal.ErrBadShares):
		return false, logical.InvalidRequest("%s", err.Error())
	case err != nil:
		return false, err
	case rootKey == nil:
		return false, nil
	}
	defer clear(rootKey)
	if err := c.unsealWith(ctx, rootKey); err != nil {
		return false, err
	}
	c.logger.Info(done)
	return true, nil
}

// ResetUnseal discards the key shares submitted so far.
func (c *Core) ResetUnseal() { c.seal.Reset() }

// postUnseal loads the state that lives behind the barrier and mounts the
// built-in backends. Called with state held for writing.
func (c *Core) postUnseal(ctx context.Context) error {
	if err := c.openStores(ctx); err != nil {
		return err
	}
	if err := c.setupMounts(ctx, c.attach); err != nil {
		return err
	}
	c.bg, c.bgCancel = context.WithCancel(context.Background())
	if err := c.startCleanups(ctx); err != nil {
		c.stopBackground()
		return err
	}
	c.startAutoRotation()
	if err := c.openGates(ctx); err != nil {
		return err
	}
	if err := c.openLeases(ctx); err != nil {
		return err
	}
	c.leases.Start(context.WithoutCancel(ctx))
	c.tokens.Start(context.WithoutCancel(ctx))
	return nil
}

// openStores reads the cluster's identity and opens the token, policy and
// identity stores: what both an active node and a standby's replica
// (standbyread.go) hold.
func (c *Core) openStores(ctx context.Context) error {
	e, err := c.barrier.Get(ctx, clusterKey)
	if err != nil {
		return fmt.Errorf("read cluster info: %w", err)
	}
	if err := json.Unmarshal(e.Value, &c.cluster); err != nil {
		return fmt.Errorf("decode cluster info: %w", err)
	}
	if c.tokens, err = token.Open(ctx, storage.NewView(c.barrier, tokenPrefix), c.tokenOptions()); err != nil {
		return err
	}
	c.policies = policy.NewStore(storage.NewView(c.barrier, policyPrefix))
	return c.openIdentity(ctx)
}

// openGates opens what every request passes on its way in: the audit
// devices, the CORS policy and the quotas.
func (c *Core) openGates(ctx context.Context) error {
	if err := c.setupAudit(ctx); err != nil {
		return err
	}
	if err := c.loadCORS(ctx); err != nil {
		return err
	}
	var err error
	if c.quotas, err = quota.Open(ctx, storage.NewView(c.barrier, quotaPrefix)); err != nil {
		return fmt.Errorf("open quotas: %w", err)
	}
	return nil
}

// Seal closes the barrier. The caller must present a root token (sudo on
// sys/seal once policies carry sudo).
func (c *Core) Seal(ctx context.Context, clientToken string) error {
	c.state.RLock()
	if c.sealed {
		c.state.RUnlock()
		return nil
	}
	if c.standby {
		c.state.RUnlock()
		return &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"cannot seal a standby node through the API; seal the active node or stop this process"}}
	}
	te, err := c.tokens.Lookup(ctx, clientToken)
	c.state.RUnlock()
	if err != nil || !te.IsRoot() {
		return logical.ErrPermissionDenied
	}
	c.stopHA()
	c.state.Lock()
	defer c.state.Unlock()
	c.sealLocked()
	return nil
}

func (c *Core) sealLocked() {
	if c.sealed {
		return
	}
	c.teardownLocked()
	c.barrier.Seal()
	c.rekey.Reset()
	c.genRoot.Reset()
	c.standby = false
	c.standbyNow.Store(false)
	c.activeTime.Store(0)
	c.sealed = true
	c.sealedNow.Store(true)
	if c.cfg.HA != nil && c.cfg.HA.Sealed != nil {
		c.cfg.HA.Sealed()
	}
	c.logger.Info("core sealed")
}

// Shutdown seals the core; used when the server stops.
func (c *Core) Shutdown() {
	c.stopAutoUnseal()
	c.stopHA()
	c.state.Lock()
	defer c.state.Unlock()
	c.sealLocked()
}

// Sealed reports whether the core is sealed. It takes no lock, so that a
// metrics scrape (itself a request holding c.state) may call it.
func (c *Core) Sealed() bool { return c.sealedNow.Load() }

func (c *Core) tokenOptions() token.Options {
	return token.Options{
		Logger:     c.logger.With("component", "token"),
		DefaultTTL: c.cfg.DefaultLeaseTTL,
		MaxTTL:     c.cfg.MaxLeaseTTL,
		OnRevoke:   c.onTokenRevoke,
		Sudo:       c.hasSudo,

		IdentityPolicies: c.identityPoliciesOf,
	}
}

// onTokenRevoke cleans up after a revoked token: what it wrapped, its
// leases and its cubbyhole.
func (c *Core) onTokenRevoke(ctx context.Context, e *token.Entry) error {
	c.revoked.Add(1)
	if err := c.dropWrapped(ctx, e); err != nil {
		return err
	}
	if c.leases != nil {
		if err := c.leases.RevokeByToken(ctx, e.Accessor); err != nil {
			return err
		}
	}
	if c.mounts == nil {
		return nil
	}
	if cb, ok := c.mounts.Get("cubbyhole/"); ok {
		if r, ok := cb.Backend.(interface {
			RevokeToken(ctx context.Context, s storage.Store, accessor string) error
		}); ok {
			return r.RevokeToken(ctx, cb.View, e.Accessor)
		}
	}
	return nil
}

// Quotas returns the rate limit quotas (nil while sealed).
func (c *Core) Quotas() *quota.Manager { return c.quotas }

// Metrics returns the server's metrics registry.
func (c *Core) Metrics() *telemetry.Metrics { return c.metrics }

// TokensCreated counts tokens created since the process started. Like the
// other accessors used by requests to sys/ (metrics, mounts), it is called
// with c.state already held for reading and must not lock it again: a
// second RLock can deadlock behind a waiting Seal.
func (c *Core) TokensCreated() uint64 {
	n := c.createdBefore.Load()
	if c.tokens != nil {
		n += c.tokens.Created()
	}
	return n
}

// LeaseCount reports the leases held, and those that could not be revoked.
// Called during a request (see TokensCreated).
func (c *Core) LeaseCount() (total, irrevocable int) {
	if c.leases == nil {
		return 0, 0
	}
	return c.leases.Count()
}

// TokensRevoked counts tokens revoked since the process started.
func (c *Core) TokensRevoked() uint64 { return c.revoked.Load() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
