package userpass

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Backend is a mounted userpass auth method. It implements logical.Backend,
// logical.ExistenceChecker and logical.SpecialPather.
type Backend struct {
	*framework.Backend
	lockout *lockout
	// now is the clock; tests replace it.
	now func() time.Time

	// cost is the bcrypt cost of new hashes and of the dummy hash that
	// unknown users are compared against; tests lower it.
	cost      int
	dummyOnce sync.Once
	dummy     []byte
	// compare checks a password against a hash (bcrypt's); tests observe
	// it to see that every login pays for one comparison.
	compare func(hash, password []byte) error
}

var (
	_ logical.Backend       = (*Backend)(nil)
	_ logical.SpecialPather = (*Backend)(nil)
)

// Factory builds a userpass backend. conf.Options may carry the lockout
// settings (see the package doc).
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	cfg, err := lockoutFromOptions(conf.Options)
	if err != nil {
		return nil, err
	}
	b := &Backend{now: time.Now, cost: bcrypt.DefaultCost, compare: bcrypt.CompareHashAndPassword}
	b.lockout = newLockout(cfg)
	b.Backend, err = framework.New(help, []*framework.Path{
		b.pathUsersList(), b.pathUser(), b.pathUserPassword(), b.pathUserPolicies(), b.pathLogin(),
	})
	if err != nil {
		return nil, fmt.Errorf("userpass: %w", err)
	}
	return b, nil
}

// SpecialPaths implements logical.SpecialPather: logins need no token.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{Unauthenticated: []string{"login", "login/*"}}
}

// dummyHash is the hash unknown users' passwords are checked against, so
// that they cost as much as a wrong password.
func (b *Backend) dummyHash() []byte {
	b.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("tresor-userpass-dummy"), b.cost)
		if err != nil {
			panic(fmt.Sprintf("userpass: dummy bcrypt hash: %v", err)) // only on an invalid cost
		}
		b.dummy = h
	})
	return b.dummy
}

const help = `The userpass auth method lets users authenticate with a user name and
a password. Users are managed under users/<name>; they log in at login/<name>.`
