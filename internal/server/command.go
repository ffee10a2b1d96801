package server

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/version"
)

const serverUsage = `Usage: tresor server [options]

  Starts a Tresor server that answers Vault's HTTP API.

  Start a production server from one or more configuration files (HCL or
  JSON, Vault's format):

      $ tresor server -config=/etc/tresor/config.hcl

  Start a development server: in memory, initialised, unsealed, with a root
  token printed and stored for the CLI. Never use it in production:

      $ tresor server -dev

Options:
`

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main runs `tresor server` with args (after the word "server"); it returns
// the process exit code: 0 after a clean shutdown, 1 on a configuration or
// start-up error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configs      stringList
		dev          = fs.Bool("dev", false, "Start a development server (in memory, unsealed).")
		devRootToken = fs.String("dev-root-token-id", "", "Root token ID in dev mode (random when empty).")
		devListen    = fs.String("dev-listen-address", "127.0.0.1:8200", "Address the dev server listens on.")
		devNoStore   = fs.Bool("dev-no-store-token", false, "Do not write the dev root token to ~/.vault-token.")
		devDataDir   = fs.String("dev-data-dir", "", "Keep the dev server's data in a bolt file in this directory, unsealed "+
			"at every start from a key kept under ~/.config/tresor (development only).")
		logLevel  = fs.String("log-level", "", "Log level: trace, debug, info, warn, error (overrides the config).")
		logFormat = fs.String("log-format", "", "Log format: standard or json (overrides the config).")
	)
	fs.Var(&configs, "config", "Path to a configuration file or directory (repeatable).")
	fs.Usage = func() { fmt.Fprint(stderr, serverUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Too many arguments: %q\n", fs.Args())
		return 1
	}
	if v := os.Getenv("VAULT_DEV_ROOT_TOKEN_ID"); *devRootToken == "" && v != "" {
		*devRootToken = v
	}
	if v := os.Getenv("VAULT_DEV_LISTEN_ADDRESS"); v != "" && !flagSet(fs, "dev-listen-address") {
		*devListen = v
	}

	var cfg *config.Config
	var err error
	switch {
	case len(configs) > 0:
		cfg, err = config.LoadFiles(configs...)
	case *dev:
		cfg = &config.Config{
			DefaultLeaseTTL: config.DefaultLeaseTTL, MaxLeaseTTL: config.DefaultMaxLeaseTTL,
			LogLevel: config.DefaultLogLevel, LogFormat: config.DefaultLogFormat,
		}
	default:
		fmt.Fprintln(stderr, "No configuration files found. Use -config=FILE, or -dev for a development server.")
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error loading configuration: %v\n", err)
		return 1
	}
	if *dev {
		switch {
		case cfg.Storage != nil:
		case *devDataDir != "":
			cfg.Storage = &config.Storage{Type: "file", Path: *devDataDir, Config: map[string]string{"path": *devDataDir}}
		default:
			cfg.Storage = &config.Storage{Type: "inmem"}
		}
		cfg.UI = true
		cfg.Listeners = append([]config.Listener{{
			Type: "tcp", Address: *devListen, TLSDisable: true, MaxRequestSize: config.DefaultMaxRequestSize,
		}}, cfg.Listeners...)
	}
	if err := cfg.Validate(*dev); err != nil {
		fmt.Fprintf(stderr, "Error in configuration: %v\n", err)
		return 1
	}
	if *logLevel != "" {
		cfg.LogLevel = *logLevel
	}
	if *logFormat != "" {
		cfg.LogFormat = *logFormat
	}
	logger, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := New(cfg, Options{Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "Error initializing storage: %v\n", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "Error starting listener: %v\n", err)
		_ = srv.Shutdown(context.Background())
		return 1
	}
	printBanner(stdout, cfg, srv)
	if *dev {
		var err error
		if *devDataDir != "" {
			err = srv.startLocalDev(ctx, stdout, *devDataDir, *devRootToken, !*devNoStore)
		} else {
			err = srv.startDev(ctx, stdout, *devRootToken, !*devNoStore)
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error initializing dev mode: %v\n", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
	}

	storageType := ""
	if cfg.Storage != nil {
		storageType = cfg.Storage.Type
	}
	if pct, after, ok := gcPercentFor(storageType, os.Getenv("GOGC")); ok {
		gc := time.AfterFunc(after, func() { debug.SetGCPercent(pct) })
		defer gc.Stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case err = <-errc:
			break wait
		case <-ctx.Done():
			break wait
		case <-hup:
			// Log rotation: reopen the audit files.
			if rerr := srv.Core.ReopenAudit(); rerr != nil {
				logger.Error("reopening audit devices", "error", rerr)
			} else {
				logger.Info("audit devices reopened")
			}
		}
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "trace", "debug":
		lv = slog.LevelDebug
	case "", "info":
		lv = slog.LevelInfo
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error", "err":
		lv = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "", "standard", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q", format)
}

func printBanner(w io.Writer, cfg *config.Config, srv *Server) {
	fmt.Fprintf(w, "==> Tresor server configuration:\n\n")
	fmt.Fprintf(w, "%24s: %s\n", "Storage", cfg.Storage.Type)
	for i, a := range srv.Addrs() {
		tlsState := "enabled"
		if cfg.Listeners[i].TLSDisable {
			tlsState = "disabled"
		}
		fmt.Fprintf(w, "%24s: tcp (addr: %q, max_request_size: %q, tls: %q)\n",
			fmt.Sprintf("Listener %d", i+1), a.String(), fmt.Sprint(cfg.Listeners[i].MaxRequestSize), tlsState)
	}
	fmt.Fprintf(w, "%24s: %s\n", "Log Level", cfg.LogLevel)
	fmt.Fprintf(w, "%24s: Tresor v%s (Vault API %s)\n\n", "Version", version.Version, version.VaultAPI)
	fmt.Fprintf(w, "==> Tresor server started! Log data will stream in below:\n\n")
}

// InitDev initialises and unseals a fresh server with one key share and
// mounts KV version 2 at secret/, as Vault's dev server does. It returns
// the unseal key and the root token.
func (s *Server) InitDev(ctx context.Context, rootTokenID string) (unsealKey []byte, rootToken string, err error) {
	keys, root, err := s.Core.Initialize(ctx, seal.Config{SecretShares: 1, SecretThreshold: 1}, rootTokenID)
	if err != nil {
		return nil, "", err
	}
	if ok, err := s.Core.Unseal(ctx, keys[0]); err != nil || !ok {
		return nil, "", fmt.Errorf("unseal: %v", err)
	}
	if err := s.Core.Mount(ctx, &mount.Entry{
		Path: "secret/", Type: "kv", Description: "key/value secret storage",
		Options: map[string]string{"version": "2"},
	}); err != nil {
		return nil, "", fmt.Errorf("mount secret/: %w", err)
	}
	return keys[0], root, nil
}

// storeCLIToken writes the root token to ~/.vault-token (mode 0600), where
// the CLI looks for a token, and reports whether it did.
func storeCLIToken(root string) bool {
	home, err := os.UserHomeDir()
	return err == nil && os.WriteFile(filepath.Join(home, ".vault-token"), []byte(root), 0o600) == nil
}

// startDev initialises a dev server and prints how to reach it.
func (s *Server) startDev(ctx context.Context, w io.Writer, rootTokenID string, storeToken bool) error {
	key, root, err := s.InitDev(ctx, rootTokenID)
	if err != nil {
		return err
	}
	addr := s.Addrs()[0].String()
	stored := "is not stored anywhere"
	if storeToken && storeCLIToken(root) {
		stored = "is stored in ~/.vault-token for the CLI"
	}
	fmt.Fprintf(w, `WARNING! dev mode is enabled! Everything lives in memory and is lost at
exit; the server is already initialised and unsealed with a single key
share, and the root token %s.

Point the CLI (tresor, vault or bao) at this server with:

    $ export VAULT_ADDR='http://%s'

The unseal key and root token are shown below, in case you want to seal,
unseal or log in again.

Unseal Key: %s
Root Token: %s

Development mode must NOT be used in production.

`, stored, addr, base64.StdEncoding.EncodeToString(key), root)
	return nil
}

// gcPercentFor is the garbage collector's goal a server sets for its
// storage type, and after how long; ok is false when the operator chose
// with GOGC.
//
// A secrets server holds little live data: it trades a little CPU for a
// smaller resident set (50), set a second after start-up, whose heap
// stays under the default first goal (4 MB) and so runs no collection at
// all, neither while initialising nor in its first requests. A Raft node
// is the other way round: every write allocates pages and log entries on
// each node of the cluster, so collections come often. Its goal is 200,
// at once: three-node KV writes 1.18x over Go's default of 100 (2,424 vs
// 2,054 req/s, medians of eleven interleaved runs each) for a peak
// private memory of 40-43 MB on the leader and 31-35 MB on a follower
// instead of 25 and 22 (OpenBao's leader: 49 MB under the same
// workload, at a quarter of the rate). 100 had been about 1.14x over 50.
func gcPercentFor(storageType, gogc string) (percent int, after time.Duration, ok bool) {
	switch {
	case gogc != "":
		return 0, 0, false
	case storageType == "raft":
		return 200, 0, true
	default:
		return 50, time.Second, true
	}
}
