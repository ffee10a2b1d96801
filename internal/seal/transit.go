package seal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Transit is the "transit" seal: another Tresor's (or a Vault's) transit
// engine wraps the root key, through its encrypt and decrypt endpoints.
type Transit struct {
	client  *api.Client
	path    string // "<mount>/" without a leading slash
	keyName string
	logger  *slog.Logger

	stopOnce sync.Once
	stop     chan struct{}
}

// TransitConfig are the transit seal's settings, as written in the
// configuration. Address and Token fall back to VAULT_ADDR and
// VAULT_TOKEN.
type TransitConfig struct {
	Address, Token, KeyName, MountPath, Namespace, TLSCACert string
	TLSSkipVerify, DisableRenewal                            bool
}

// NewTransit builds the transit seal. It makes no request: the server may
// be unreachable for now.
func NewTransit(cfg TransitConfig, getenv func(string) string, logger *slog.Logger) (*Transit, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyName == "" {
		return nil, errors.New(`seal "transit": key_name is required`)
	}
	if cfg.Address == "" {
		cfg.Address = getenv("VAULT_ADDR")
	}
	if cfg.Token == "" {
		cfg.Token = getenv("VAULT_TOKEN")
	}
	if cfg.Address == "" {
		return nil, errors.New(`seal "transit": address (or VAULT_ADDR) is required`)
	}
	ac := api.DefaultConfig()
	ac.Address = cfg.Address
	ac.MaxRetries = 0
	ac.Timeout = 15 * time.Second
	if strings.HasPrefix(cfg.Address, "https://") {
		if err := ac.ConfigureTLS(&api.TLSConfig{CACert: cfg.TLSCACert, Insecure: cfg.TLSSkipVerify}); err != nil {
			return nil, fmt.Errorf(`seal "transit": TLS: %w`, err)
		}
	}
	client, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf(`seal "transit": %w`, err)
	}
	client.SetToken(cfg.Token)
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	mount := strings.Trim(cfg.MountPath, "/")
	if mount == "" {
		mount = "transit"
	}
	t := &Transit{client: client, path: mount + "/", keyName: cfg.KeyName, logger: logger, stop: make(chan struct{})}
	if !cfg.DisableRenewal {
		go t.renewLoop()
	}
	return t, nil
}

// Type implements Wrapper.
func (t *Transit) Type() string { return "transit" }

// Encrypt implements Wrapper.
func (t *Transit) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	sec, err := t.client.Logical().WriteWithContext(ctx, t.path+"encrypt/"+t.keyName,
		map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plaintext)})
	if err != nil {
		return nil, fmt.Errorf("transit seal: encrypt: %w", err)
	}
	ct, _ := dataString(sec, "ciphertext")
	if ct == "" {
		return nil, errors.New("transit seal: encrypt: no ciphertext in the answer")
	}
	return []byte(ct), nil
}

// Decrypt implements Wrapper.
func (t *Transit) Decrypt(ctx context.Context, blob []byte) ([]byte, error) {
	sec, err := t.client.Logical().WriteWithContext(ctx, t.path+"decrypt/"+t.keyName,
		map[string]any{"ciphertext": string(blob)})
	if err != nil {
		return nil, fmt.Errorf("transit seal: decrypt: %w", err)
	}
	pt, _ := dataString(sec, "plaintext")
	out, err := base64.StdEncoding.DecodeString(pt)
	if err != nil || pt == "" {
		return nil, errors.New("transit seal: decrypt: no plaintext in the answer")
	}
	return out, nil
}

func dataString(sec *api.Secret, key string) (string, bool) {
	if sec == nil || sec.Data == nil {
		return "", false
	}
	s, ok := sec.Data[key].(string)
	return s, ok
}

// Close stops the token renewal.
func (t *Transit) Close() { t.stopOnce.Do(func() { close(t.stop) }) }

// renewLoop keeps a renewable token alive, renewing it at two thirds of
// its TTL; it retries every minute while the server is unreachable.
func (t *Transit) renewLoop() {
	wait := time.Duration(0)
	for {
		select {
		case <-t.stop:
			return
		case <-time.After(wait):
		}
		wait = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		sec, err := t.client.Auth().Token().RenewSelfWithContext(ctx, 0)
		cancel()
		var rerr *api.ResponseError
		switch {
		case errors.As(err, &rerr) && rerr.StatusCode == http.StatusBadRequest:
			return // not renewable (a root or periodic-less token): nothing to do
		case err != nil:
			t.logger.Debug("transit seal: token renewal failed; retrying", "error", err)
		case sec != nil && sec.Auth != nil && sec.Auth.LeaseDuration > 0:
			wait = time.Duration(sec.Auth.LeaseDuration) * time.Second * 2 / 3
		default:
			return
		}
	}
}
