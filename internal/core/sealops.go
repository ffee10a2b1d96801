package core

import (
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/token"
)

// rootTokenLength is the length of the root tokens the token store makes
// ("hvs." and 24 base62 characters), and so of generate-root's one-time
// passwords.
const rootTokenLength = len(token.ServicePrefix) + 24

// quorumPaths are the rekey and generate-root endpoints a listener may
// open to callers without a token (disable_unauthed_rekey_endpoints = false,
// disable_unauthed_generate_root_endpoints = false). By default they need
// a token with sudo on them.
var quorumPaths = map[string]bool{
	"sys/rekey/init": true, "sys/rekey/update": true, "sys/rekey/verify": true,
	"sys/rekey-recovery-key/init": true, "sys/rekey-recovery-key/update": true, "sys/rekey-recovery-key/verify": true,
	"sys/generate-root/attempt": true, "sys/generate-root/update": true,
}

// openable reports whether a listener may open path to callers without a
// token: sys/metrics and the quorum endpoints.
func openable(path string) bool {
	return path == "sys/metrics" || quorumPaths[path]
}

// Rekey is the unseal key's rekey operation (sys/rekey/*).
func (c *Core) Rekey() *seal.Rekey { return c.rekey }

// GenerateRoot is the root token generation (sys/generate-root/*).
func (c *Core) GenerateRoot() *seal.GenerateRoot { return c.genRoot }

// MintRootToken creates a new root token, for generate-root. Called during
// a request (see TokensCreated).
func (c *Core) MintRootToken(ctx context.Context) (string, error) {
	root, err := c.tokens.Create(ctx, &token.Entry{
		Policies:    []string{"root"},
		DisplayName: "root",
		Path:        "auth/token/root",
		Orphan:      true,
	})
	if err != nil {
		return "", fmt.Errorf("create root token: %w", err)
	}
	c.logger.Info("root token generated from a quorum of key shares")
	return root.ID, nil
}
