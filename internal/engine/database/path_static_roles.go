package database

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// minRotationPeriod is the shortest rotation_period accepted, as in Vault.
const minRotationPeriod = 5 * time.Second

func (b *Backend) pathStaticRolesList() *framework.Path {
	return &framework.Path{
		Pattern:    "static-roles",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.list(staticRolePrefix)},
		Synopsis:   "List the static roles.",
	}
}

func (b *Backend) pathStaticRoles() *framework.Path {
	return &framework.Path{
		Pattern: "static-roles/{name}",
		Fields: map[string]*framework.Field{
			"db_name":             {Type: framework.TypeString, Description: "The connection (config/<db_name>) the role uses."},
			"username":            {Type: framework.TypeString, Description: "The existing database user whose password Tresor rotates."},
			"rotation_period":     {Type: framework.TypeDuration, Description: "How often the password changes (at least 5s)."},
			"rotation_schedule":   {Type: framework.TypeString, Description: "Cron expression (5 fields, UTC) for when the password changes; instead of rotation_period."},
			"rotation_statements": {Type: framework.TypeStringSlice, Description: "Statements that set the password ({{name}}, {{password}})."},
			"credential_type":     {Type: framework.TypeString, Description: `Only "password" is supported.`},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readStaticRole,
			logical.CreateOperation: b.writeStaticRole,
			logical.UpdateOperation: b.writeStaticRole,
			logical.DeleteOperation: b.deleteEntry(staticRolePrefix),
		},
		ExistenceCheck: b.exists(staticRolePrefix),
		Synopsis:       "Manage roles whose existing database user gets a new password on a schedule.",
	}
}

type staticRoleIn struct {
	Name           string         `field:"name"`
	DBName         *string        `field:"db_name"`
	Username       *string        `field:"username"`
	RotationPeriod *time.Duration `field:"rotation_period"`
	Schedule       *string        `field:"rotation_schedule"`
	CredentialType *string        `field:"credential_type"`
}

func (b *Backend) readStaticRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	r, err := loadStaticRole(ctx, req.Storage, req.Param("name"))
	if err != nil || r == nil {
		return nil, err
	}
	data := map[string]any{
		"db_name":             r.DBName,
		"username":            r.Username,
		"rotation_statements": orEmpty(r.Rotation),
		"credential_type":     "password",
	}
	if r.Schedule != "" {
		data["rotation_schedule"] = r.Schedule
	} else {
		data["rotation_period"] = int64(r.RotationPeriod / time.Second)
	}
	if !r.LastRotation.IsZero() {
		data["last_vault_rotation"] = r.LastRotation.Format(time.RFC3339Nano)
	}
	return &logical.Response{Data: data}, nil
}

// writeStaticRole stores a static role; a new role, or one whose user
// changed, gets a new password at once, as in Vault.
func (b *Backend) writeStaticRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in staticRoleIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	b.rotateMu.Lock()
	defer b.rotateMu.Unlock()
	r, err := loadStaticRole(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	isNew := r == nil
	if isNew {
		r = &staticRole{}
	}
	if in.Username != nil && !isNew && *in.Username != r.Username {
		return nil, logical.InvalidRequest("cannot update static account username")
	}
	set(&r.DBName, in.DBName)
	set(&r.Username, in.Username)
	set(&r.RotationPeriod, in.RotationPeriod)
	if v, ok := req.Data["rotation_statements"]; ok {
		r.Rotation = statements(v)
	}
	switch {
	case in.Schedule != nil && *in.Schedule != "" && in.RotationPeriod != nil && *in.RotationPeriod != 0:
		return nil, logical.InvalidRequest("mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided")
	case in.Schedule != nil:
		r.Schedule = *in.Schedule
		if r.Schedule != "" {
			r.RotationPeriod = 0
		}
	case in.RotationPeriod != nil && *in.RotationPeriod != 0:
		r.Schedule = ""
	}
	if r.Schedule != "" {
		if _, err := parseSchedule(r.Schedule); err != nil {
			return nil, logical.InvalidRequest("could not parse rotation_schedule: %v", err)
		}
	}
	switch {
	case in.CredentialType != nil && *in.CredentialType != "" && *in.CredentialType != "password":
		return nil, logical.InvalidRequest("credential_type %q is not supported: only \"password\"", *in.CredentialType)
	case r.DBName == "":
		return nil, logical.InvalidRequest("empty database name attribute")
	case r.Username == "":
		return nil, logical.InvalidRequest("username is a required field to create a static account")
	case r.RotationPeriod == 0 && r.Schedule == "":
		return nil, logical.InvalidRequest("one of rotation_schedule or rotation_period must be provided to create a static account")
	case r.Schedule == "" && r.RotationPeriod < minRotationPeriod:
		return nil, logical.InvalidRequest("rotation_period must be %d seconds or more", int(minRotationPeriod/time.Second))
	}
	p, err := b.connection(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if !p.cfg.allows(in.Name) {
		return nil, logical.InvalidRequest("%q is not an allowed role", in.Name)
	}
	if isNew {
		if taken, err := b.usernameTaken(ctx, req.Storage, r.DBName, r.Username); err != nil {
			return nil, err
		} else if taken != "" {
			return nil, logical.InvalidRequest("username %q is already managed by static role %q", r.Username, taken)
		}
		if err := b.setStaticPassword(ctx, p, r); err != nil {
			return nil, err
		}
	}
	return nil, save(ctx, req.Storage, staticRolePrefix+in.Name, r)
}

// usernameTaken returns the static role already managing username on the
// connection, if any.
func (b *Backend) usernameTaken(ctx context.Context, s storage.Reader, dbName, username string) (string, error) {
	names, err := s.List(ctx, staticRolePrefix)
	if err != nil {
		return "", fmt.Errorf("list static roles: %w", err)
	}
	for _, n := range names {
		r, err := loadStaticRole(ctx, s, n)
		if err != nil {
			return "", err
		}
		if r != nil && r.DBName == dbName && r.Username == username {
			return n, nil
		}
	}
	return "", nil
}

// setStaticPassword gives r's user a new password in the database and
// records it in r (which the caller stores). The caller holds rotateMu.
func (b *Backend) setStaticPassword(ctx context.Context, p *pool, r *staticRole) error {
	stmts := r.Rotation
	if len(stmts) == 0 {
		stmts = p.d.rotate
	}
	password := newPassword()
	vars := map[string]string{"name": r.Username, "username": r.Username, "password": password}
	if err := execAll(ctx, p.db, stmts, vars); err != nil {
		return failure(ctx, p, "unable to rotate the static role's password", err, password)
	}
	r.Password = password
	r.LastRotation = b.now().UTC()
	r.LastError, r.NextAttempt = "", time.Time{}
	return nil
}

func (b *Backend) pathStaticCreds() *framework.Path {
	return &framework.Path{
		Pattern:    "static-creds/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.readStaticCreds},
		Synopsis:   "Read the current password of a static role.",
	}
}

func (b *Backend) readStaticCreds(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	r, err := loadStaticRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("unknown role: %s", name)
	}
	var ttl time.Duration
	if next := r.nextRotation(); !next.IsZero() {
		ttl = max(next.Sub(b.now()), 0)
	}
	data := map[string]any{
		"username":            r.Username,
		"password":            r.Password,
		"last_vault_rotation": r.LastRotation.Format(time.RFC3339Nano),
		"ttl":                 int64(ttl / time.Second),
	}
	if r.Schedule != "" {
		data["rotation_schedule"] = r.Schedule
	} else {
		data["rotation_period"] = int64(r.RotationPeriod / time.Second)
	}
	return &logical.Response{Data: data}, nil
}

func (b *Backend) pathRotateRole() *framework.Path {
	return &framework.Path{
		Pattern:    "rotate-role/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.rotateRole},
		Synopsis:   "Give a static role's user a new password now.",
	}
}

func (b *Backend) rotateRole(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	b.rotateMu.Lock()
	defer b.rotateMu.Unlock()
	r, err := loadStaticRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("no static role found for role name %q", name)
	}
	p, err := b.connection(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if err := b.setStaticPassword(ctx, p, r); err != nil {
		return nil, err
	}
	return nil, save(ctx, req.Storage, staticRolePrefix+name, r)
}
