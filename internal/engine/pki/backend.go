package pki

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Backend is a mounted PKI engine.
type Backend struct {
	*framework.Backend
	defaultTTL, maxTTL time.Duration
	// now is the clock; tests replace it.
	now func() time.Time

	// state caches the issuers and keys; nil means "load from storage".
	// Changes to issuers, keys or their defaults are serialised by caMu
	// and drop the cache after they are stored. Issuing never takes caMu.
	state atomic.Pointer[caState]
	gen   atomic.Uint64 // bumped by every change to issuers, keys or settings
	caMu  sync.Mutex
	// roles caches decoded roles by name.
	roles sync.Map
	// crlMu serialises CRL rebuilds.
	crlMu sync.Mutex
	tidy  tidyRunner
	// keyPool keeps RSA keys ready for issue/.
	keyPool keyPool
	log     *slog.Logger
}

var (
	_ logical.SpecialPather = (*Backend)(nil)
	_ logical.SecretRevoker = (*Backend)(nil)
)

// Factory builds a PKI backend; its TTL defaults are the mount's.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now, defaultTTL: 768 * time.Hour, maxTTL: 768 * time.Hour, log: slog.New(slog.DiscardHandler)}
	if conf != nil {
		if conf.Logger != nil {
			b.log = conf.Logger
		}
		if conf.DefaultLeaseTTL > 0 {
			b.defaultTTL = conf.DefaultLeaseTTL
		}
		if conf.MaxLeaseTTL > 0 {
			b.maxTTL = conf.MaxLeaseTTL
		}
	}
	var paths []*framework.Path
	for _, group := range [][]*framework.Path{
		b.rootPaths(), b.intermediatePaths(), b.rolePaths(), b.issuePaths(),
		b.fetchPaths(), b.revokePaths(), b.configPaths(), b.issuerPaths(), b.tidyPaths(),
	} {
		paths = append(paths, group...)
	}
	fb, err := framework.New(help, paths)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	b.Backend = fb
	return b, nil
}

const help = `The PKI secrets engine is a certificate authority: it keeps root and
intermediate issuers and issues X.509 certificates for roles, revokes
them and publishes CRLs.`

// SpecialPaths lists the paths anyone may read, as Vault does, and the
// ones that need sudo. Every path under cert/ is read-only; issuer/<ref>
// is not listed because it also takes updates and deletes.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{
		Unauthenticated: []string{"cert/*", "ca/pem", "ca_chain", "ca", "crl", "crl/pem"},
		Root:            []string{"root", "root/sign-self-issued"},
	}
}

// loadState returns the cached issuers and keys, loading them if needed.
// A state loaded before the latest change (its generation is older) is
// never served or published, however the loads and changes interleave.
func (b *Backend) loadState(ctx context.Context, r storage.Reader) (*caState, error) {
	gen := b.gen.Load()
	if st := b.state.Load(); st != nil && st.gen == gen {
		return st, nil
	}
	st, err := loadState(ctx, r)
	if err != nil {
		return nil, err
	}
	st.gen = gen
	for {
		cur := b.state.Load()
		if cur != nil && cur.gen >= gen {
			break
		}
		if b.state.CompareAndSwap(cur, st) {
			break
		}
	}
	return st, nil
}

// invalidate drops the cached state after a change is stored.
func (b *Backend) invalidate() {
	b.gen.Add(1)
	b.state.Store(nil)
}

// newSerial is a random positive 159-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 159)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, err
	}
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

// serialText is a serial as Vault shows it: colon-separated hex pairs.
func serialText(n *big.Int) string { return serialWith(n, ':') }

// serialWith writes a serial's bytes as lower-case hex pairs joined by sep.
func serialWith(n *big.Int, sep byte) string {
	var buf [32]byte
	var b []byte
	if size := (n.BitLen() + 7) / 8; size <= len(buf) {
		b = n.FillBytes(buf[:size])
	} else {
		b = n.Bytes()
	}
	if len(b) == 0 {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b)-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// storageSerial turns a client's serial ("1a:2b" or "1a-2b") into the
// stored form ("1a-2b"); ok is false for anything else.
func storageSerial(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(s, ":", "-")))
	if len(s) < 2 || len(s) > 128 {
		return "", false
	}
	for i, c := range s {
		hex := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
		if i%3 == 2 {
			if c != '-' {
				return "", false
			}
		} else if !hex {
			return "", false
		}
	}
	if len(s)%3 != 2 {
		return "", false
	}
	return s, true
}

// newID is a random (version 4) UUID for issuers and keys.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("pki: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
