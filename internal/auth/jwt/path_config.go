package jwt

import (
	"context"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// config is the stored configuration of the mount.
type config struct {
	JWTValidationPubKeys []string       `json:"jwt_validation_pubkeys,omitempty"`
	JWKSURL              string         `json:"jwks_url,omitempty"`
	JWKSCAPEM            string         `json:"jwks_ca_pem,omitempty"`
	OIDCDiscoveryURL     string         `json:"oidc_discovery_url,omitempty"`
	OIDCDiscoveryCAPEM   string         `json:"oidc_discovery_ca_pem,omitempty"`
	OIDCClientID         string         `json:"oidc_client_id,omitempty"`
	OIDCClientSecret     string         `json:"oidc_client_secret,omitempty"`
	OIDCResponseMode     string         `json:"oidc_response_mode,omitempty"`
	OIDCResponseTypes    []string       `json:"oidc_response_types,omitempty"`
	BoundIssuer          string         `json:"bound_issuer,omitempty"`
	JWTSupportedAlgs     []string       `json:"jwt_supported_algs,omitempty"`
	DefaultRole          string         `json:"default_role,omitempty"`
	NamespaceInState     bool           `json:"namespace_in_state"`
	ProviderConfig       map[string]any `json:"provider_config,omitempty"`
}

// algs are the configured signing algorithms (the safe ones by default).
func (c *config) algs() []jose.SignatureAlgorithm {
	if len(c.JWTSupportedAlgs) == 0 {
		return safeAlgs
	}
	out := make([]jose.SignatureAlgorithm, len(c.JWTSupportedAlgs))
	for i, a := range c.JWTSupportedAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// keySet builds the verifier of c's keys. Remote keys are fetched on
// first use.
func (c *config) keySet() (keySet, error) {
	switch {
	case len(c.JWTValidationPubKeys) > 0:
		return parsePublicKeys(c.JWTValidationPubKeys)
	case c.JWKSURL != "":
		client, err := httpClient(c.JWKSCAPEM)
		if err != nil {
			return nil, err
		}
		u := c.JWKSURL
		return &remoteKeys{client: client, url: func(context.Context) (string, error) { return u, nil }}, nil
	case c.OIDCDiscoveryURL != "":
		client, err := httpClient(c.OIDCDiscoveryCAPEM)
		if err != nil {
			return nil, err
		}
		d := &discovery{client: client, issuer: c.OIDCDiscoveryURL}
		return &remoteKeys{client: client, url: d.url}, nil
	}
	return nil, nil
}

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields: map[string]*framework.Field{
			"jwt_validation_pubkeys": {Type: framework.TypeStringSlice, Description: "PEM public keys (RSA, ECDSA, Ed25519) that verify tokens."},
			"jwks_url":               {Type: framework.TypeString, Description: "URL of a JWKS that verifies tokens."},
			"jwks_ca_pem":            {Type: framework.TypeString, Description: "CA certificates (PEM) trusted for jwks_url."},
			"oidc_discovery_url":     {Type: framework.TypeString, Description: "OpenID Connect issuer URL, whose discovery document names its JWKS."},
			"oidc_discovery_ca_pem":  {Type: framework.TypeString, Description: "CA certificates (PEM) trusted for oidc_discovery_url."},
			"oidc_client_id":         {Type: framework.TypeString, Description: "OAuth client ID (browser flow: not supported)."},
			"oidc_client_secret":     {Type: framework.TypeString, Description: "OAuth client secret (browser flow: not supported)."},
			"oidc_response_mode":     {Type: framework.TypeString, Description: "Browser flow response mode (not supported)."},
			"oidc_response_types":    {Type: framework.TypeStringSlice, Description: "Browser flow response types (not supported)."},
			"bound_issuer":           {Type: framework.TypeString, Description: "Value the iss claim must have."},
			"jwt_supported_algs":     {Type: framework.TypeStringSlice, Description: "Signing algorithms accepted; asymmetric ones only."},
			"default_role":           {Type: framework.TypeString, Description: "Role used when a login names none."},
			"namespace_in_state":     {Type: framework.TypeBool, Default: true, Description: "Browser flow setting (not supported)."},
			"provider_config":        {Type: framework.TypeMap, Description: "Provider-specific settings (not supported)."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readConfig,
			logical.UpdateOperation: b.writeConfig,
			logical.CreateOperation: b.writeConfig,
		},
		Synopsis: "Configure the keys and issuer tokens are checked against.",
	}
}

func (b *Backend) readConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	cfg, _, err := b.config(ctx, req.Storage)
	if err != nil || cfg == nil {
		return nil, err
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	pc := cfg.ProviderConfig
	if pc == nil {
		pc = map[string]any{}
	}
	return &logical.Response{Data: map[string]any{
		"jwt_validation_pubkeys": orEmpty(cfg.JWTValidationPubKeys),
		"jwks_url":               cfg.JWKSURL,
		"jwks_ca_pem":            cfg.JWKSCAPEM,
		"jwks_pairs":             []any{},
		"oidc_discovery_url":     cfg.OIDCDiscoveryURL,
		"oidc_discovery_ca_pem":  cfg.OIDCDiscoveryCAPEM,
		"oidc_client_id":         cfg.OIDCClientID,
		"oidc_response_mode":     cfg.OIDCResponseMode,
		"oidc_response_types":    orEmpty(cfg.OIDCResponseTypes),
		"bound_issuer":           cfg.BoundIssuer,
		"jwt_supported_algs":     orEmpty(cfg.JWTSupportedAlgs),
		"default_role":           cfg.DefaultRole,
		"namespace_in_state":     cfg.NamespaceInState,
		"provider_config":        pc,
	}}, nil
}

// writeConfig replaces the configuration, as Vault does: fields left out
// are reset. Remote keys are fetched once to check them.
func (b *Backend) writeConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		PubKeys        []string       `field:"jwt_validation_pubkeys"`
		JWKSURL        string         `field:"jwks_url"`
		JWKSCAPEM      string         `field:"jwks_ca_pem"`
		DiscoveryURL   string         `field:"oidc_discovery_url"`
		DiscoveryCAPEM string         `field:"oidc_discovery_ca_pem"`
		ClientID       string         `field:"oidc_client_id"`
		ClientSecret   string         `field:"oidc_client_secret"`
		ResponseMode   string         `field:"oidc_response_mode"`
		ResponseTypes  []string       `field:"oidc_response_types"`
		BoundIssuer    string         `field:"bound_issuer"`
		Algs           []string       `field:"jwt_supported_algs"`
		DefaultRole    string         `field:"default_role"`
		NSInState      bool           `field:"namespace_in_state"`
		ProviderConfig map[string]any `field:"provider_config"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	cfg := &config{
		JWTValidationPubKeys: in.PubKeys, JWKSURL: in.JWKSURL, JWKSCAPEM: in.JWKSCAPEM,
		OIDCDiscoveryURL: in.DiscoveryURL, OIDCDiscoveryCAPEM: in.DiscoveryCAPEM,
		OIDCClientID: in.ClientID, OIDCClientSecret: in.ClientSecret,
		OIDCResponseMode: in.ResponseMode, OIDCResponseTypes: in.ResponseTypes,
		BoundIssuer: in.BoundIssuer, JWTSupportedAlgs: in.Algs, DefaultRole: in.DefaultRole,
		NamespaceInState: in.NSInState, ProviderConfig: in.ProviderConfig,
	}
	set := 0
	for _, given := range []bool{len(cfg.JWTValidationPubKeys) > 0, cfg.JWKSURL != "", cfg.OIDCDiscoveryURL != ""} {
		if given {
			set++
		}
	}
	if set != 1 {
		return nil, logical.InvalidRequest("exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set")
	}
	if (cfg.OIDCClientID == "") != (cfg.OIDCClientSecret == "") {
		return nil, logical.InvalidRequest("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC")
	}
	for _, a := range cfg.JWTSupportedAlgs {
		if !slices.Contains(safeAlgs, jose.SignatureAlgorithm(a)) {
			return nil, logical.InvalidRequest("invalid jwt_supported_algs: unsupported signing algorithm %q", a)
		}
	}
	keys, err := cfg.keySet()
	if err != nil {
		switch {
		case len(cfg.JWTValidationPubKeys) > 0:
			return nil, logical.InvalidRequest("error parsing public key: %v", err)
		case cfg.JWKSURL != "":
			return nil, logical.InvalidRequest("error checking jwks_ca_pem")
		default:
			return nil, logical.InvalidRequest("error checking oidc discovery URL")
		}
	}
	if rk, ok := keys.(*remoteKeys); ok {
		fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := rk.refresh(fctx, 0)
		cancel()
		if err != nil {
			if cfg.JWKSURL != "" {
				return nil, logical.InvalidRequest("error checking jwks URL %s", cfg.JWKSURL)
			}
			return nil, logical.InvalidRequest("error checking oidc discovery URL")
		}
	}
	if err := putJSON(ctx, req.Storage, configKey, cfg); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.cfg, b.keys, b.loaded = cfg, keys, true
	b.mu.Unlock()
	return nil, nil
}
