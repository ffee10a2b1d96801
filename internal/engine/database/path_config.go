package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// verifyTimeout bounds the connection check of a config write.
const verifyTimeout = 10 * time.Second

func (b *Backend) pathConfigList() *framework.Path {
	return &framework.Path{
		Pattern:    "config",
		Operations: map[logical.Operation]framework.Handler{logical.ListOperation: b.list(configPrefix)},
		Synopsis:   "List the configured database connections.",
	}
}

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config/{name}",
		Fields: map[string]*framework.Field{
			"plugin_name":              {Type: framework.TypeString, Description: "The database plugin: " + pluginNames() + "."},
			"plugin_version":           {Type: framework.TypeString, Description: "Accepted for compatibility; the built-in plugin is always used."},
			"connection_url":           {Type: framework.TypeString, Description: "Connection string, with {{username}} and {{password}} placeholders."},
			"username":                 {Type: framework.TypeString, Description: "The admin user Tresor connects as."},
			"password":                 {Type: framework.TypeString, Description: "The admin user's password; never returned."},
			"allowed_roles":            {Type: framework.TypeStringSlice, Description: `Roles allowed to use this connection; "*" for all.`},
			"verify_connection":        {Type: framework.TypeBool, Default: true, Description: "Connect before saving the configuration."},
			"max_open_connections":     {Type: framework.TypeInt, Validate: nonNegative, Description: "Most open connections in the pool (default 4)."},
			"max_idle_connections":     {Type: framework.TypeInt, Validate: nonNegative, Description: "Most idle connections kept (default: max_open_connections)."},
			"max_connection_lifetime":  {Type: framework.TypeDuration, Description: "Longest a connection is reused; 0 forever."},
			"password_policy":          {Type: framework.TypeString, Description: "Not supported: passwords follow the default policy."},
			"username_template":        {Type: framework.TypeString, Description: "Go template for the names of dynamic users."},
			"root_rotation_statements": {Type: framework.TypeStringSlice, Description: "Statements that change the admin password ({{username}}, {{password}})."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readConfig,
			logical.CreateOperation: b.writeConfig,
			logical.UpdateOperation: b.writeConfig,
			logical.DeleteOperation: b.deleteConfig,
		},
		ExistenceCheck: b.exists(configPrefix),
		Synopsis:       "Configure a connection to a database.",
	}
}

type configIn struct {
	Name             string         `field:"name"`
	PluginName       *string        `field:"plugin_name"`
	ConnectionURL    *string        `field:"connection_url"`
	Username         *string        `field:"username"`
	Password         *string        `field:"password"`
	AllowedRoles     *[]string      `field:"allowed_roles"`
	Verify           bool           `field:"verify_connection"`
	MaxOpen          *int           `field:"max_open_connections"`
	MaxIdle          *int           `field:"max_idle_connections"`
	MaxLifetime      *time.Duration `field:"max_connection_lifetime"`
	PasswordPolicy   *string        `field:"password_policy"`
	UsernameTemplate *string        `field:"username_template"`
}

func nonNegative(v any) error {
	if v.(int) < 0 {
		return fmt.Errorf("must not be negative")
	}
	return nil
}

func (b *Backend) readConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	c, err := loadConfig(ctx, req.Storage, req.Param("name"))
	if err != nil || c == nil {
		return nil, err
	}
	roles := c.AllowedRoles
	if roles == nil {
		roles = []string{}
	}
	rot := c.RootRotation
	if rot == nil {
		rot = []string{}
	}
	details := map[string]any{
		"connection_url":          c.ConnectionURL,
		"username":                c.Username,
		"max_open_connections":    c.MaxOpenConnections,
		"max_idle_connections":    c.MaxIdleConnections,
		"max_connection_lifetime": c.MaxConnectionLifetime.String(),
	}
	if c.UsernameTemplate != "" {
		details["username_template"] = c.UsernameTemplate
	}
	return &logical.Response{Data: map[string]any{
		"plugin_name":                        c.PluginName,
		"plugin_version":                     "",
		"connection_details":                 details,
		"allowed_roles":                      roles,
		"root_credentials_rotate_statements": rot,
		"password_policy":                    c.PasswordPolicy,
		"verify_connection":                  c.VerifyConnection,
	}}, nil
}

// writeConfig creates or updates a connection. Fields left out keep their
// stored values. With verify_connection (the default) the database must
// accept the connection first, or nothing is stored.
func (b *Backend) writeConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in configIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	c, err := loadConfig(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = &connConfig{}
	}
	set(&c.PluginName, in.PluginName)
	set(&c.ConnectionURL, in.ConnectionURL)
	set(&c.Username, in.Username)
	set(&c.Password, in.Password)
	set(&c.AllowedRoles, in.AllowedRoles)
	set(&c.MaxOpenConnections, in.MaxOpen)
	set(&c.MaxIdleConnections, in.MaxIdle)
	set(&c.MaxConnectionLifetime, in.MaxLifetime)
	set(&c.PasswordPolicy, in.PasswordPolicy)
	set(&c.UsernameTemplate, in.UsernameTemplate)
	if v, ok := req.Data["root_rotation_statements"]; ok {
		c.RootRotation = statements(v)
	}
	c.VerifyConnection = in.Verify
	switch {
	case c.PluginName == "":
		return nil, logical.InvalidRequest("empty plugin name")
	case dialects[c.PluginName] == nil:
		return nil, logical.InvalidRequest("unsupported plugin_name %q: must be one of %s", c.PluginName, pluginNames())
	case c.ConnectionURL == "":
		return nil, logical.InvalidRequest("connection_url cannot be empty")
	case c.PasswordPolicy != "":
		return nil, logical.InvalidRequest("password_policy is not supported: generated passwords follow the default policy")
	}
	if c.UsernameTemplate != "" {
		if _, err := parseUsernameTemplate(c.UsernameTemplate); err != nil {
			return nil, logical.InvalidRequest("unable to initialize username template: %v", err)
		}
	}
	db, d, err := open(c)
	if err != nil {
		return nil, logical.InvalidRequest("error creating database object: %s", redact(err.Error(), c.Password))
	}
	p := &pool{db: db, d: d, cfg: c}
	if c.VerifyConnection {
		vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		err := db.PingContext(vctx)
		cancel()
		if err != nil {
			db.Close()
			return nil, dbError(p, "error creating database object: error verifying connection", err)
		}
	}
	if err := save(ctx, req.Storage, configPrefix+in.Name, c); err != nil {
		db.Close()
		return nil, err
	}
	b.setPool(in.Name, p)
	return nil, nil
}

func (b *Backend) deleteConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	if err := req.Storage.Delete(ctx, configPrefix+name); err != nil {
		return nil, fmt.Errorf("delete config: %w", err)
	}
	b.setPool(name, nil)
	return nil, nil
}

func (b *Backend) pathReset() *framework.Path {
	return &framework.Path{
		Pattern:    "reset/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.reset},
		Synopsis:   "Close a connection's pool and reopen it with the stored configuration.",
	}
}

func (b *Backend) reset(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	b.setPool(name, nil)
	p, err := b.connection(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if err := p.db.PingContext(ctx); err != nil {
		return nil, dbError(p, "error resetting connection", err)
	}
	return nil, nil
}

// set copies *from into *to when from is given.
func set[T any](to *T, from *T) {
	if from != nil {
		*to = *from
	}
}

// list answers LIST on a collection kept under prefix.
func (b *Backend) list(prefix string) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		keys, err := req.Storage.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		if len(keys) == 0 {
			return nil, logical.ErrNotFound
		}
		return &logical.Response{Data: map[string]any{"keys": keys}}, nil
	}
}

// exists is the existence check of an entry kept under prefix + name.
func (b *Backend) exists(prefix string) framework.ExistenceFunc {
	return func(ctx context.Context, req *framework.Request) (bool, error) {
		_, err := req.Storage.Get(ctx, prefix+req.Param("name"))
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}

// statements reads a statements field as given: a string of
// ";"-separated statements, or a list of them.
func statements(raw any) []string {
	switch v := raw.(type) {
	case string:
		return splitStatements([]string{v})
	case []string:
		return splitStatements(v)
	case []any:
		var list []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				list = append(list, s)
			}
		}
		return splitStatements(list)
	}
	return nil
}
