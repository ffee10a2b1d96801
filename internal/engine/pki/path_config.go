package pki

import (
	"context"
	"net/url"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

type urlsConfig struct {
	IssuingCertificates   []string `json:"issuing_certificates"`
	CRLDistributionPoints []string `json:"crl_distribution_points"`
	OCSPServers           []string `json:"ocsp_servers"`
	EnableTemplating      bool     `json:"enable_templating"`
}

type crlConfig struct {
	Expiry      time.Duration `json:"expiry"`
	Disable     bool          `json:"disable"`
	OCSPDisable bool          `json:"ocsp_disable"`
	AutoRebuild bool          `json:"auto_rebuild"`
}

func defaultCRLConfig() crlConfig { return crlConfig{Expiry: 72 * time.Hour} }

func (b *Backend) configPaths() []*framework.Path {
	list := func(d string) *framework.Field {
		return &framework.Field{Type: framework.TypeStringSlice, Description: d}
	}
	ref := func(d string) map[string]*framework.Field {
		return map[string]*framework.Field{"default": {Type: framework.TypeString, Description: d}}
	}
	return []*framework.Path{
		{
			Pattern: "config/urls",
			Fields: map[string]*framework.Field{
				"issuing_certificates":    list("URLs of the issuing certificate (AIA)."),
				"crl_distribution_points": list("URLs of the CRL."),
				"ocsp_servers":            list("URLs of OCSP responders."),
				"enable_templating":       {Type: framework.TypeBool, Description: "Accepted; templates are not expanded."},
			},
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readURLs,
				logical.UpdateOperation: b.writeURLs,
				logical.CreateOperation: b.writeURLs,
			},
			Synopsis: "URLs written into issued certificates.",
		},
		{
			Pattern: "config/crl",
			Fields: map[string]*framework.Field{
				"expiry":       {Type: framework.TypeString, Description: "How long a CRL is valid (default 72h)."},
				"disable":      {Type: framework.TypeBool, Description: "Do not build CRLs."},
				"ocsp_disable": {Type: framework.TypeBool, Description: "Accepted; OCSP is not served."},
				"auto_rebuild": {Type: framework.TypeBool, Description: "Accepted; CRLs are rebuilt on every revocation."},
			},
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readCRLConfig,
				logical.UpdateOperation: b.writeCRLConfig,
				logical.CreateOperation: b.writeCRLConfig,
			},
			Synopsis: "CRL settings.",
		},
		{
			Pattern: "config/issuers",
			Fields:  ref("Issuer (name or ID) that serves \"default\"."),
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readDefaultIssuer,
				logical.UpdateOperation: b.writeDefaultIssuer,
				logical.CreateOperation: b.writeDefaultIssuer,
			},
			Synopsis: "The default issuer.",
		},
		{
			Pattern: "config/keys",
			Fields:  ref("Key (name or ID) that serves \"default\"."),
			Operations: map[logical.Operation]framework.Handler{
				logical.ReadOperation:   b.readDefaultKey,
				logical.UpdateOperation: b.writeDefaultKey,
				logical.CreateOperation: b.writeDefaultKey,
			},
			Synopsis: "The default key.",
		},
	}
}

func (u *urlsConfig) data() map[string]any {
	return map[string]any{
		"issuing_certificates":    nonNil(u.IssuingCertificates),
		"crl_distribution_points": nonNil(u.CRLDistributionPoints),
		"ocsp_servers":            nonNil(u.OCSPServers),
		"enable_templating":       u.EnableTemplating,
	}
}

func (b *Backend) readURLs(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	u := st.urls
	if u == nil {
		u = &urlsConfig{}
	}
	return &logical.Response{Data: u.data()}, nil
}

func (b *Backend) writeURLs(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Issuing   *[]string `field:"issuing_certificates"`
		CRL       *[]string `field:"crl_distribution_points"`
		OCSP      *[]string `field:"ocsp_servers"`
		Templated *bool     `field:"enable_templating"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	var u urlsConfig
	if _, err := getJSON(ctx, req.Storage, urlsConfigKey, &u); err != nil {
		return nil, err
	}
	for _, set := range []struct {
		in  *[]string
		out *[]string
	}{{in.Issuing, &u.IssuingCertificates}, {in.CRL, &u.CRLDistributionPoints}, {in.OCSP, &u.OCSPServers}} {
		if set.in == nil {
			continue
		}
		for _, s := range *set.in {
			if p, err := url.Parse(s); err != nil || p.Scheme == "" || p.Host == "" {
				return nil, logical.InvalidRequest("invalid URL found in Authority Information Access (AIA) parameter: %q", s)
			}
		}
		*set.out = *set.in
	}
	if in.Templated != nil {
		u.EnableTemplating = *in.Templated
	}
	if err := putJSON(ctx, req.Storage, urlsConfigKey, u); err != nil {
		return nil, err
	}
	return &logical.Response{Data: u.data()}, nil
}

func (c crlConfig) data() map[string]any {
	return map[string]any{"expiry": c.Expiry.String(), "disable": c.Disable, "ocsp_disable": c.OCSPDisable, "auto_rebuild": c.AutoRebuild}
}

func (b *Backend) readCRLConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: st.crl.data()}, nil
}

func (b *Backend) writeCRLConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Expiry      *string `field:"expiry"`
		Disable     *bool   `field:"disable"`
		OCSPDisable *bool   `field:"ocsp_disable"`
		AutoRebuild *bool   `field:"auto_rebuild"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	c := defaultCRLConfig()
	if _, err := getJSON(ctx, req.Storage, crlConfigKey, &c); err != nil {
		return nil, err
	}
	if in.Expiry != nil {
		d, err := parseDuration(*in.Expiry)
		if err != nil || d <= 0 {
			return nil, logical.InvalidRequest("given expiry could not be decoded")
		}
		c.Expiry = d
	}
	if in.Disable != nil {
		c.Disable = *in.Disable
	}
	if in.OCSPDisable != nil {
		c.OCSPDisable = *in.OCSPDisable
	}
	if in.AutoRebuild != nil {
		c.AutoRebuild = *in.AutoRebuild
	}
	if err := putJSON(ctx, req.Storage, crlConfigKey, c); err != nil {
		return nil, err
	}
	return &logical.Response{Data: c.data()}, nil
}

func (b *Backend) readDefaultIssuer(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"default": st.defaultIssuer}}, nil
}

func (b *Backend) writeDefaultIssuer(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return b.writeDefault(ctx, req, issuersConfigKey, func(st *caState, ref string) (string, error) {
		is, err := st.resolveIssuer(ref)
		if err != nil {
			return "", err
		}
		return is.ID, nil
	})
}

func (b *Backend) readDefaultKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	st, err := b.loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"default": st.defaultKey}}, nil
}

func (b *Backend) writeDefaultKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return b.writeDefault(ctx, req, keysConfigKey, func(st *caState, ref string) (string, error) {
		k, err := st.resolveKey(ref)
		if err != nil {
			return "", err
		}
		return k.ID, nil
	})
}

func (b *Backend) writeDefault(ctx context.Context, req *framework.Request, key string, resolve func(*caState, string) (string, error)) (*logical.Response, error) {
	var in struct {
		Default string `field:"default"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Default == "" || in.Default == "default" {
		return nil, logical.InvalidRequest("invalid default reference")
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	defer b.invalidate()
	st, err := loadState(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	id, err := resolve(st, in.Default)
	if err != nil {
		return nil, err
	}
	if err := putJSON(ctx, storage.Writer(req.Storage), key, defaultRef{id}); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"default": id}}, nil
}
