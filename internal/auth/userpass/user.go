package userpass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/storage"
)

// userPrefix is where users are stored, by normalised name.
const userPrefix = "user/"

// user is a stored user. The password is kept only as a bcrypt hash.
type user struct {
	PasswordHash []byte `json:"password_hash"`
	tokenfields.Fields
}

// normalize is the canonical form of a user name: trimmed, lower-case.
func normalize(name string) string {
	return strings.ToLower(strings.TrimSpace(name))
}

// loadUser returns the user stored under the normalised name, or nil.
func loadUser(ctx context.Context, r storage.Reader, name string) (*user, error) {
	e, err := r.Get(ctx, userPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	u := new(user)
	if err := json.Unmarshal(e.Value, u); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	return u, nil
}

func saveUser(ctx context.Context, w storage.Writer, name string, u *user) error {
	v, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encode user: %w", err)
	}
	if err := w.Put(ctx, &storage.Entry{Key: userPrefix + name, Value: v}); err != nil {
		return fmt.Errorf("write user: %w", err)
	}
	return nil
}
