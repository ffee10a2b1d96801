package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Storage key prefixes inside the mount's view.
const (
	configPrefix     = "config/"
	rolePrefix       = "role/"
	staticRolePrefix = "static-role/"
)

// connConfig is a configured connection, as stored.
type connConfig struct {
	PluginName            string        `json:"plugin_name"`
	ConnectionURL         string        `json:"connection_url"`
	Username              string        `json:"username,omitempty"`
	Password              string        `json:"password,omitempty"`
	AllowedRoles          []string      `json:"allowed_roles"`
	VerifyConnection      bool          `json:"verify_connection"`
	MaxOpenConnections    int           `json:"max_open_connections"`
	MaxIdleConnections    int           `json:"max_idle_connections"`
	MaxConnectionLifetime time.Duration `json:"max_connection_lifetime"`
	PasswordPolicy        string        `json:"password_policy,omitempty"`
	UsernameTemplate      string        `json:"username_template,omitempty"`
	RootRotation          []string      `json:"root_rotation_statements,omitempty"`
}

// allows reports whether the connection may serve role.
func (c *connConfig) allows(role string) bool {
	for _, r := range c.AllowedRoles {
		if r == "*" || r == role {
			return true
		}
	}
	return false
}

// role is a dynamic role, as stored.
type role struct {
	DBName     string        `json:"db_name"`
	Creation   []string      `json:"creation_statements"`
	Revocation []string      `json:"revocation_statements,omitempty"`
	Rollback   []string      `json:"rollback_statements,omitempty"`
	Renew      []string      `json:"renew_statements,omitempty"`
	DefaultTTL time.Duration `json:"default_ttl"`
	MaxTTL     time.Duration `json:"max_ttl"`
}

// staticRole is a static role, as stored, with the password it last set.
type staticRole struct {
	DBName         string        `json:"db_name"`
	Username       string        `json:"username"`
	RotationPeriod time.Duration `json:"rotation_period"`
	// Schedule is a rotation_schedule (cron, UTC), used instead of
	// RotationPeriod when set.
	Schedule     string    `json:"rotation_schedule,omitempty"`
	Rotation     []string  `json:"rotation_statements,omitempty"`
	Password     string    `json:"password,omitempty"`
	LastRotation time.Time `json:"last_vault_rotation,omitzero"`
	// LastError is the (redacted) reason the last scheduled rotation
	// failed; it is retried on the next pass.
	LastError string `json:"last_error,omitempty"`
	// NextAttempt delays the retry of a failed rotation.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// due is when the role's password should next change.
func (r *staticRole) due() time.Time {
	if !r.NextAttempt.IsZero() {
		return r.NextAttempt
	}
	return r.nextRotation()
}

// nextRotation is when the password is next due by its schedule, ignoring
// retries; the zero time for a schedule that never comes.
func (r *staticRole) nextRotation() time.Time {
	if r.Schedule != "" {
		s, err := parseSchedule(r.Schedule)
		if err != nil {
			return time.Time{}
		}
		return s.next(r.LastRotation)
	}
	return r.LastRotation.Add(r.RotationPeriod)
}

// load reads the JSON under key into dst; ok is false when there is none.
func load(ctx context.Context, r storage.Reader, key string, dst any) (ok bool, err error) {
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %q: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, dst); err != nil {
		return false, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

// save writes v as JSON under key.
func save(ctx context.Context, w storage.Writer, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	if err := w.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("write %q: %w", key, err)
	}
	return nil
}

func loadConfig(ctx context.Context, r storage.Reader, name string) (*connConfig, error) {
	var c connConfig
	ok, err := load(ctx, r, configPrefix+name, &c)
	if !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

func loadRole(ctx context.Context, r storage.Reader, name string) (*role, error) {
	var ro role
	ok, err := load(ctx, r, rolePrefix+name, &ro)
	if !ok || err != nil {
		return nil, err
	}
	return &ro, nil
}

func loadStaticRole(ctx context.Context, r storage.Reader, name string) (*staticRole, error) {
	var ro staticRole
	ok, err := load(ctx, r, staticRolePrefix+name, &ro)
	if !ok || err != nil {
		return nil, err
	}
	return &ro, nil
}
