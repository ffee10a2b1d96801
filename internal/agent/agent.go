package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// Options are what the agent takes from its process, beyond Config.
type Options struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer // for the exec child and template commands
	Logger         *slog.Logger
	// Getenv supplies VAULT_ADDR and VAULT_TOKEN fallbacks and the env
	// function of templates; nil means an empty environment.
	Getenv func(string) string
	// Environ is the base environment of the exec child.
	Environ []string
	// ExitAfterAuth overrides the configuration's exit_after_auth.
	ExitAfterAuth bool
	// Signals are forwarded to the exec child.
	Signals <-chan os.Signal
	// MinBackoff and MaxBackoff bound the waits while the server is down
	// (defaults 1s and 5m for logins, 250ms and 1m for secrets).
	MinBackoff, MaxBackoff time.Duration
}

// Agent runs one configuration: auto-auth, templates, env templates and
// the exec child, tied together by a small loop.
type Agent struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	client  *api.Client
	keeper  *Keeper
	watcher *Watcher

	files   []*fileTemplate
	envs    []*envTemplate
	child   *Child
	started bool // the child has been started
}

type fileTemplate struct {
	cfg  TemplateConfig
	tmpl *Template
	last []byte // what was last written (or found on disk)
	done bool   // rendered completely at least once
}

type envTemplate struct {
	name  string
	tmpl  *Template
	value string
	done  bool
}

// New checks cfg, builds the client and parses the templates.
func New(cfg *Config, opts Options) (*Agent, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, opts: opts, log: log}
	for _, w := range cfg.Warnings {
		log.Warn("configuration: " + w)
	}
	var err error
	if a.client, err = newClient(cfg.Vault, opts.Getenv); err != nil {
		return nil, err
	}
	if err := a.setupAuth(); err != nil {
		return nil, err
	}
	for i, tc := range cfg.Templates {
		text := tc.Contents
		if tc.Source != "" {
			b, err := os.ReadFile(tc.Source)
			if err != nil {
				return nil, fmt.Errorf("template %d: %w", i+1, err)
			}
			text = string(b)
		}
		t, err := ParseTemplate(tc.Destination, text, tc.LeftDelim, tc.RightDelim, tc.ErrorOnMissingKey)
		if err != nil {
			return nil, fmt.Errorf("template %d: %w", i+1, err)
		}
		ft := &fileTemplate{cfg: tc, tmpl: t}
		if b, err := os.ReadFile(tc.Destination); err == nil {
			ft.last = b
			// Unset perms keep those of the file already there, as Vault does.
			if fi, err := os.Stat(tc.Destination); err == nil && ft.cfg.Perms == 0 {
				ft.cfg.Perms = fi.Mode().Perm()
			}
		}
		a.files = append(a.files, ft)
	}
	for _, ec := range cfg.EnvTemplates {
		t, err := ParseTemplate(ec.Name, ec.Contents, "", "", ec.ErrorOnMissingKey)
		if err != nil {
			return nil, fmt.Errorf("env_template %q: %w", ec.Name, err)
		}
		a.envs = append(a.envs, &envTemplate{name: ec.Name, tmpl: t})
	}
	if cfg.Exec != nil {
		a.child = &Child{Command: cfg.Exec.Command, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
		if cfg.Exec.RestartStopSignal != "" {
			a.child.StopSignal, _ = ParseSignal(cfg.Exec.RestartStopSignal)
		}
	}
	retries := -1
	if cfg.TemplateConfig.ExitOnRetryFailure {
		retries = cfg.Vault.NumRetries
	}
	a.watcher = NewWatcher(a.client, WatcherOptions{
		Interval:   cfg.TemplateConfig.StaticSecretRenderInterval,
		MinBackoff: opts.MinBackoff,
		MaxBackoff: opts.MaxBackoff,
		Retries:    retries,
		Logger:     log,
	})
	return a, nil
}

// Client is the agent's API client, authenticated once Run has logged in.
func (a *Agent) Client() *api.Client { return a.client }

func newClient(v VaultConfig, getenv func(string) string) (*api.Client, error) {
	addr := v.Address
	if addr == "" {
		addr = getenv("VAULT_ADDR")
	}
	if addr == "" {
		return nil, errors.New("no server address: set vault { address } or VAULT_ADDR")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	cfg := &api.Config{
		Address:    addr,
		HttpClient: &http.Client{Transport: transport},
		Timeout:    60 * time.Second,
	}
	if err := cfg.ConfigureTLS(&api.TLSConfig{
		CACert: v.CACert, CAPath: v.CAPath, ClientCert: v.ClientCert, ClientKey: v.ClientKey, Insecure: v.TLSSkipVerify,
	}); err != nil {
		return nil, fmt.Errorf("vault: TLS: %w", err)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	// Retries are the watcher's and the keeper's, with their backoff.
	c.SetMaxRetries(0)
	c.ClearNamespace()
	c.ClearToken()
	return c, nil
}

func (a *Agent) setupAuth() error {
	kopts := KeeperOptions{MinBackoff: a.opts.MinBackoff, MaxBackoff: a.opts.MaxBackoff, Logger: a.log}
	aa := a.cfg.AutoAuth
	if aa == nil {
		tok := a.opts.Getenv("VAULT_TOKEN")
		if tok == "" {
			return errors.New("no auto_auth stanza and no VAULT_TOKEN")
		}
		a.keeper = NewKeeper(a.client, Token{Token: tok}, nil, kopts)
		return nil
	}
	conf := func(k string) string { s, _ := aa.Method.Config[k].(string); return s }
	var m Method
	switch aa.Method.Type {
	case "approle":
		remove := true // Vault Agent's default
		switch v := aa.Method.Config["remove_secret_id_file_after_reading"].(type) {
		case bool:
			remove = v
		case string:
			remove = v == "true"
		}
		m = &AppRole{
			Mount:              aa.Method.MountPath,
			RoleIDFile:         conf("role_id_file_path"),
			SecretIDFile:       conf("secret_id_file_path"),
			RemoveSecretIDFile: remove,
		}
		if conf("role_id_file_path") == "" {
			return errors.New("auto_auth: approle needs config { role_id_file_path }")
		}
	case "token_file":
		if conf("token_file_path") == "" {
			return errors.New("auto_auth: token_file needs config { token_file_path }")
		}
		m = TokenFile{Path: conf("token_file_path")}
	case "cert":
		var tlsCfg *api.TLSConfig
		if conf("client_cert") != "" {
			ca := conf("ca_cert")
			if ca == "" {
				ca = a.cfg.Vault.CACert
			}
			tlsCfg = &api.TLSConfig{
				CACert: ca, CAPath: a.cfg.Vault.CAPath, ClientCert: conf("client_cert"), ClientKey: conf("client_key"),
				Insecure: a.cfg.Vault.TLSSkipVerify,
			}
		}
		m = Cert{Mount: aa.Method.MountPath, Name: conf("name"), TLS: tlsCfg}
	}
	var sinks []Sink
	for _, s := range aa.Sinks {
		sinks = append(sinks, FileSink{Path: s.Path, Mode: s.Mode})
	}
	a.keeper = NewKeeper(a.client, m, sinks, kopts)
	return nil
}

// Run logs in and then renders and supervises until ctx ends or the exec
// child exits; it returns the exit status for the process.
func (a *Agent) Run(ctx context.Context) (int, error) {
	if a.cfg.AutoAuth != nil {
		if err := a.keeper.LoginRetry(ctx); err != nil {
			return 1, err
		}
		a.log.Info("authenticated", "method", a.cfg.AutoAuth.Method.Type)
	}
	if a.cfg.ExitAfterAuth || a.opts.ExitAfterAuth {
		return 0, nil
	}
	if pf := a.cfg.PidFile; pf != "" {
		if err := os.WriteFile(pf, []byte(fmt.Sprintf("%d", os.Getpid())), 0o644); err != nil {
			return 1, fmt.Errorf("pid_file: %w", err)
		}
		defer os.Remove(pf)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.keeper.Run(ctx)
	if len(a.files) == 0 && len(a.envs) == 0 && a.child == nil {
		<-ctx.Done() // auth only: keep the token fresh
		return 0, nil
	}
	var exited <-chan int
	if a.child != nil {
		exited = a.child.Exited()
		defer a.child.Stop()
	}
	for {
		restart, err := a.render(ctx)
		if err != nil && a.cfg.TemplateConfig.ExitOnRetryFailure {
			return 1, err
		}
		if err := a.supervise(restart); err != nil {
			return 1, err
		}
		select {
		case <-a.watcher.Changed():
			a.watcher.TakeChanges()
		case code := <-exited:
			a.log.Info("child exited", "status", code)
			return code, nil
		case sig := <-a.opts.Signals:
			if a.child != nil {
				a.child.Signal(sig)
			} else {
				return 0, nil
			}
		case err := <-a.watcher.Failed():
			return 1, fmt.Errorf("giving up after %d retries: %w", a.cfg.Vault.NumRetries, err)
		case <-ctx.Done():
			return 0, nil
		}
	}
}

// render renders every template from the cache, writes the files that
// changed (running their commands), updates the env values, and tells the
// watcher which secrets are in use. It reports whether an env value the
// running child uses changed.
func (a *Agent) render(ctx context.Context) (envChanged bool, err error) {
	var deps []Dependency
	var errs []error
	for _, ft := range a.files {
		r, rerr := ft.tmpl.Render(a.watcher.Get)
		deps = append(deps, r.Deps...)
		if rerr != nil {
			a.log.Error("rendering template failed", "destination", ft.cfg.Destination, "error", rerr)
			errs = append(errs, rerr)
			continue
		}
		if !r.Complete {
			continue
		}
		ft.done = true
		if ft.last != nil && bytes.Equal(ft.last, r.Output) {
			continue
		}
		perms := ft.cfg.Perms
		if perms == 0 {
			perms = 0o644
		}
		// create_dest_dirs, true by default in Vault.
		if derr := os.MkdirAll(filepath.Dir(ft.cfg.Destination), 0o755); derr != nil {
			errs = append(errs, derr)
			continue
		}
		if werr := writeAtomic(ft.cfg.Destination, r.Output, perms); werr != nil {
			a.log.Error("writing template failed", "destination", ft.cfg.Destination, "error", werr)
			errs = append(errs, werr)
			continue
		}
		ft.last = r.Output
		a.log.Info("rendered template", "destination", ft.cfg.Destination)
		if len(ft.cfg.Command) > 0 {
			a.runCommand(ctx, ft.cfg.Command)
		}
	}
	for _, et := range a.envs {
		r, rerr := et.tmpl.Render(a.watcher.Get)
		deps = append(deps, r.Deps...)
		if rerr != nil {
			a.log.Error("rendering env_template failed", "name", et.name, "error", rerr)
			errs = append(errs, rerr)
			continue
		}
		if !r.Complete {
			continue
		}
		if v := string(r.Output); !et.done || v != et.value {
			if et.done {
				envChanged = true
				a.log.Info("secret changed", "env", et.name)
			}
			et.value, et.done = v, true
		}
	}
	a.watcher.Watch(ctx, deps)
	return envChanged, errors.Join(errs...)
}

// runCommand runs a template's command, bounded to 30s.
func (a *Agent) runCommand(ctx context.Context, argv []string) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = a.opts.Stdout, a.opts.Stderr
	if err := cmd.Run(); err != nil {
		a.log.Error("template command failed", "command", strings.Join(argv, " "), "error", err)
	}
}

// supervise starts the child once every env template (and file template)
// has rendered, and restarts it when an env value it uses changed.
func (a *Agent) supervise(envChanged bool) error {
	if a.child == nil {
		return nil
	}
	for _, et := range a.envs {
		if !et.done {
			return nil
		}
	}
	for _, ft := range a.files {
		if !ft.done {
			return nil
		}
	}
	env := append([]string(nil), a.opts.Environ...)
	for _, et := range a.envs {
		env = append(env, et.name+"="+et.value)
	}
	env = dedupEnv(env)
	if !a.started {
		a.started = true
		a.log.Info("starting child", "command", a.cfg.Exec.Command[0])
		return a.child.Start(env)
	}
	if envChanged && a.cfg.Exec.RestartOnSecretChanges != "never" {
		a.log.Info("restarting child: a secret it uses changed")
		return a.child.Restart(env)
	}
	return nil
}
