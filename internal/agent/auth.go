package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// This file is auto-auth: a Method logs in, a Keeper keeps the resulting
// token alive (renew-self at two thirds of its TTL, a fresh login when
// renewal fails or the max TTL nears) and hands each new token to the
// client and to its sinks.

// Method is one way to log in. Login returns a secret whose Auth holds the
// token; it is called again whenever the token cannot be renewed.
type Method interface {
	Login(ctx context.Context, client *api.Client) (*api.Secret, error)
}

// Token uses a token given directly (VAULT_TOKEN). Login looks it up to
// learn its TTL, so that it can be renewed.
type Token struct{ Token string }

// Login implements Method.
func (m Token) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	return lookupToken(ctx, client, m.Token)
}

// TokenFile reads the token from a file at every login (Vault Agent's
// token_file method).
type TokenFile struct{ Path string }

// Login implements Method.
func (m TokenFile) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	b, err := os.ReadFile(m.Path)
	if err != nil {
		return nil, fmt.Errorf("token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, fmt.Errorf("token_file: %s is empty", m.Path)
	}
	return lookupToken(ctx, client, tok)
}

func lookupToken(ctx context.Context, client *api.Client, tok string) (*api.Secret, error) {
	c, err := client.Clone()
	if err != nil {
		return nil, err
	}
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking up the token: %w", err)
	}
	if s == nil {
		return nil, errors.New("looking up the token: empty answer")
	}
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	return &api.Secret{Auth: &api.SecretAuth{
		ClientToken:   tok,
		LeaseDuration: int(ttl / time.Second),
		Renewable:     renewable,
	}}, nil
}

// AppRole logs in with a role ID and secret ID, given directly or read
// from files (Vault Agent's approle method).
type AppRole struct {
	Mount              string // "approle" unless set
	RoleID, SecretID   string
	RoleIDFile         string
	SecretIDFile       string
	RemoveSecretIDFile bool
	mu                 sync.Mutex
	cachedSecretID     string
}

// Login implements Method.
func (m *AppRole) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	roleID, err := m.roleID()
	if err != nil {
		return nil, err
	}
	secretID, err := m.secretID()
	if err != nil {
		return nil, err
	}
	mount := strings.Trim(m.Mount, "/")
	if mount == "" {
		mount = "approle"
	}
	mount = strings.TrimPrefix(mount, "auth/")
	body := map[string]any{"role_id": roleID}
	if secretID != "" {
		body["secret_id"] = secretID
	}
	return writeNoToken(ctx, client, "auth/"+mount+"/login", body)
}

func (m *AppRole) roleID() (string, error) {
	if m.RoleIDFile == "" {
		if m.RoleID == "" {
			return "", errors.New("approle: no role ID")
		}
		return m.RoleID, nil
	}
	b, err := os.ReadFile(m.RoleIDFile)
	if err != nil {
		return "", fmt.Errorf("approle: role ID: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("approle: role ID file %s is empty", m.RoleIDFile)
	}
	return id, nil
}

// secretID reads the secret ID file; once it has been read and removed,
// the copy in memory serves later logins.
func (m *AppRole) secretID() (string, error) {
	if m.SecretIDFile == "" {
		return m.SecretID, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := os.ReadFile(m.SecretIDFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && m.cachedSecretID != "" {
			return m.cachedSecretID, nil
		}
		return "", fmt.Errorf("approle: secret ID: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if m.RemoveSecretIDFile {
		if err := os.Remove(m.SecretIDFile); err != nil {
			return "", fmt.Errorf("approle: removing the secret ID file: %w", err)
		}
	}
	m.cachedSecretID = id
	return id, nil
}

// Cert logs in with the TLS client certificate of the client passed in
// TLS (Vault Agent's cert method).
type Cert struct {
	Mount string // "cert" unless set
	Name  string // the certificate role, optional
	TLS   *api.TLSConfig
}

// Login implements Method.
func (m Cert) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	c, err := client.Clone()
	if err != nil {
		return nil, err
	}
	if m.TLS != nil {
		// A transport of its own: the clone's would be shared with client.
		cfg := client.CloneConfig()
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		cfg.HttpClient = &http.Client{Transport: transport, Timeout: 60 * time.Second}
		if err := cfg.ConfigureTLS(m.TLS); err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
		if c, err = api.NewClient(cfg); err != nil {
			return nil, err
		}
	}
	mount := strings.TrimPrefix(strings.Trim(m.Mount, "/"), "auth/")
	if mount == "" {
		mount = "cert"
	}
	body := map[string]any{}
	if m.Name != "" {
		body["name"] = m.Name
	}
	return writeNoToken(ctx, c, "auth/"+mount+"/login", body)
}

func writeNoToken(ctx context.Context, client *api.Client, p string, body map[string]any) (*api.Secret, error) {
	c, err := client.Clone()
	if err != nil {
		return nil, err
	}
	c.ClearToken()
	s, err := c.Logical().WriteWithContext(ctx, p, body)
	if err != nil {
		return nil, fmt.Errorf("login at %s: %w", p, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, fmt.Errorf("login at %s: no token in the answer", p)
	}
	return s, nil
}

// Sink receives every new token.
type Sink interface {
	WriteToken(token string) error
}

// FileSink writes the token to a file atomically (a temporary file in the
// same directory, then rename), with Mode (0640 unless set).
type FileSink struct {
	Path string
	Mode os.FileMode
}

// WriteToken implements Sink.
func (s FileSink) WriteToken(token string) error {
	mode := s.Mode
	if mode == 0 {
		mode = 0o640
	}
	return writeAtomic(s.Path, []byte(token), mode)
}

// writeAtomic replaces path with data: the file appears whole or not at
// all, with mode set before any byte is written.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// KeeperOptions tune a Keeper.
type KeeperOptions struct {
	MinBackoff, MaxBackoff time.Duration // defaults 1s and 5m, as Vault Agent's auto_auth
	Logger                 *slog.Logger
}

// Keeper logs in with a Method and keeps the token valid, setting it on
// the client and writing it to every sink.
type Keeper struct {
	client *api.Client
	method Method
	sinks  []Sink
	opts   KeeperOptions
	log    *slog.Logger
	auth   *api.SecretAuth
}

// NewKeeper returns a keeper for client.
func NewKeeper(client *api.Client, method Method, sinks []Sink, opts KeeperOptions) *Keeper {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Minute, opts.MinBackoff)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{client: client, method: method, sinks: sinks, opts: opts, log: log}
}

// Login logs in once and installs the token.
func (k *Keeper) Login(ctx context.Context) error {
	s, err := k.method.Login(ctx, k.client)
	if err != nil {
		return err
	}
	k.auth = s.Auth
	k.client.SetToken(s.Auth.ClientToken)
	var errs []error
	for _, sink := range k.sinks {
		if err := sink.WriteToken(s.Auth.ClientToken); err != nil {
			errs = append(errs, fmt.Errorf("token sink: %w", err))
		}
	}
	k.log.Debug("authenticated", "ttl", s.Auth.LeaseDuration, "renewable", s.Auth.Renewable)
	return errors.Join(errs...)
}

// LoginRetry logs in, backing off between failures, until it succeeds or
// ctx ends.
func (k *Keeper) LoginRetry(ctx context.Context) error {
	for n := 1; ; n++ {
		err := k.Login(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		k.log.Warn("authentication failed; retrying", "attempt", n, "error", err)
		if !sleep(ctx, backoff(n, k.opts.MinBackoff, k.opts.MaxBackoff)) {
			return ctx.Err()
		}
	}
}

// Run keeps the token alive until ctx ends, logging in first unless Login
// has succeeded.
func (k *Keeper) Run(ctx context.Context) {
	if k.auth == nil && k.LoginRetry(ctx) != nil {
		return
	}
	for ctx.Err() == nil {
		k.hold(ctx)
		if ctx.Err() != nil {
			return
		}
		if err := k.LoginRetry(ctx); err != nil {
			return
		}
	}
}

// hold renews the current token until it cannot be renewed any longer;
// then the caller logs in again.
func (k *Keeper) hold(ctx context.Context) {
	a := k.auth
	if a == nil {
		return
	}
	if a.LeaseDuration <= 0 { // a root token never expires
		<-ctx.Done()
		return
	}
	ttl := time.Duration(a.LeaseDuration) * time.Second
	increment := a.LeaseDuration
	for {
		if !sleep(ctx, ttl*2/3) || !a.Renewable {
			return
		}
		s, err := k.client.Auth().Token().RenewSelfWithContext(ctx, increment)
		if err != nil || s == nil || s.Auth == nil {
			k.log.Warn("token renewal failed; logging in again", "error", err)
			return
		}
		k.log.Debug("token renewed", "ttl", s.Auth.LeaseDuration)
		ttl = time.Duration(s.Auth.LeaseDuration) * time.Second
		if s.Auth.LeaseDuration < increment {
			// Capped by the max TTL: use what is left, then log in again.
			sleep(ctx, ttl*2/3)
			return
		}
	}
}
