package cert

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Backend is a mounted cert auth method. It implements logical.Backend,
// logical.ExistenceChecker and logical.SpecialPather.
type Backend struct {
	*framework.Backend
	// now is the clock certificates are verified at; tests replace it.
	now func() time.Time
}

var (
	_ logical.Backend       = (*Backend)(nil)
	_ logical.SpecialPather = (*Backend)(nil)
)

// Factory builds a cert backend.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now}
	var err error
	b.Backend, err = framework.New(help, []*framework.Path{b.pathCertsList(), b.pathCert(), b.pathLogin()})
	if err != nil {
		return nil, fmt.Errorf("cert: %w", err)
	}
	return b, nil
}

// SpecialPaths implements logical.SpecialPather: logins need no token.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{Unauthenticated: []string{"login", "login/*"}}
}

const help = `The cert auth method lets clients authenticate with a TLS client
certificate that chains to, or is, a certificate configured under certs/<name>.`
