package transit

import (
	"context"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) keyExists(ctx context.Context, req *framework.Request) (bool, error) {
	p, err := b.keys.get(ctx, req.Storage, req.Param("name"))
	return p != nil, err
}

func (b *Backend) pathKeys() *framework.Path {
	return &framework.Path{
		Pattern: "keys/{name}",
		Fields: map[string]*framework.Field{
			"type":                   {Type: framework.TypeString, Default: typeAES256, Description: "The key type."},
			"derived":                {Type: framework.TypeBool, Description: "Derive a key per context (HKDF-SHA256)."},
			"convergent_encryption":  {Type: framework.TypeBool, Description: "Deterministic encryption; needs derived."},
			"exportable":             {Type: framework.TypeBool, Description: "Allow the key to be exported; cannot be undone."},
			"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Allow plaintext backups; cannot be undone."},
			"auto_rotate_period":     {Type: framework.TypeDuration, Description: "Rotate the key this long after its latest version; 0 never."},
			"key_size":               {Type: framework.TypeInt, Description: "Size in bytes of an hmac key (32 to 512)."},
			"context":                {Type: framework.TypeString, Description: "Ignored; accepted for compatibility."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readKey,
			logical.CreateOperation: b.createKey,
			logical.UpdateOperation: b.createKey,
			logical.DeleteOperation: b.deleteKey,
		},
		ExistenceCheck: b.keyExists,
		Synopsis:       "Create, read and delete named encryption keys.",
	}
}

func (b *Backend) pathKeysList() *framework.Path {
	return &framework.Path{
		Pattern: "keys",
		Operations: map[logical.Operation]framework.Handler{
			logical.ListOperation: b.listKeys,
		},
		Synopsis: "List the named keys.",
	}
}

type createIn struct {
	Name                 string         `field:"name"`
	Type                 string         `field:"type"`
	Derived              bool           `field:"derived"`
	Convergent           bool           `field:"convergent_encryption"`
	Exportable           bool           `field:"exportable"`
	AllowPlaintextBackup bool           `field:"allow_plaintext_backup"`
	AutoRotatePeriod     *time.Duration `field:"auto_rotate_period"`
	KeySize              int            `field:"key_size"`
}

// validName refuses names that could escape the key's storage entry.
func validName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return logical.InvalidRequest("invalid key name")
	}
	return nil
}

func checkAutoRotate(d time.Duration) error {
	if d != 0 && d < time.Hour {
		return logical.InvalidRequest("auto rotate period must be 0 to disable or at least an hour")
	}
	return nil
}

// newPolicy checks a creation request and generates the key's first
// version; it runs before any lock is taken (RSA generation is slow).
func (b *Backend) newPolicy(in createIn) (*policy, error) {
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	if !validType(in.Type) {
		return nil, logical.InvalidRequest("unknown key type %q", in.Type)
	}
	if in.Convergent && !in.Derived {
		return nil, logical.InvalidRequest("convergent encryption requires derivation to be enabled")
	}
	if in.Derived && !supportsDerivation(in.Type) {
		return nil, logical.InvalidRequest("key derivation and convergent encryption not supported for keys of type %s", in.Type)
	}
	if in.Convergent && !symmetric(in.Type) {
		return nil, logical.InvalidRequest("convergent encryption not supported for keys of type %s", in.Type)
	}
	if in.KeySize != 0 && in.Type != typeHMAC {
		return nil, logical.InvalidRequest("key_size is only valid for hmac keys")
	}
	if in.Type == typeHMAC {
		if in.KeySize == 0 {
			in.KeySize = defaultHMACLen
		}
		if in.KeySize < 32 || in.KeySize > 512 {
			return nil, logical.InvalidRequest("invalid key_size: must be between 32 and 512 bytes")
		}
	}
	p := &policy{
		Name:                 in.Name,
		Type:                 in.Type,
		Derived:              in.Derived,
		ConvergentEncryption: in.Convergent,
		Exportable:           in.Exportable,
		AllowPlaintextBackup: in.AllowPlaintextBackup,
		MinDecryptionVersion: 1,
		KeySize:              in.KeySize,
		Versions:             map[int]*version{},
	}
	if in.Derived {
		p.KDF = kdfHKDFSHA256
	}
	if in.Convergent {
		p.ConvergentVersion = convergentV3
	}
	if in.AutoRotatePeriod != nil {
		if err := checkAutoRotate(*in.AutoRotatePeriod); err != nil {
			return nil, err
		}
		p.AutoRotatePeriod = *in.AutoRotatePeriod
	}
	v, err := newVersion(p.Type, p.KeySize, b.now())
	if err != nil {
		return nil, err
	}
	p.rotate(v)
	return p, nil
}

// ensureKey creates the key described by in unless it exists, and
// returns the key either way.
func (b *Backend) ensureKey(ctx context.Context, st storage.Store, in createIn) (*policy, error) {
	if p, err := b.keys.get(ctx, st, in.Name); p != nil || err != nil {
		return p, err
	}
	fresh, err := b.newPolicy(in)
	if err != nil {
		return nil, err
	}
	return b.keys.update(ctx, st, in.Name, func(cur *policy) (*policy, error) {
		if cur != nil {
			return nil, errSkip
		}
		return fresh, nil
	})
}

func (b *Backend) createKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in createIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	p, err := b.ensureKey(ctx, req.Storage, in)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: p.keyInfo()}, nil
}

func (b *Backend) readKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	p, err := b.key(ctx, req.Storage, req.Param("name"))
	if err != nil || p == nil {
		return nil, err
	}
	return &logical.Response{Data: p.keyInfo()}, nil
}

func (b *Backend) deleteKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	_, err := b.keys.update(ctx, req.Storage, req.Param("name"), func(cur *policy) (*policy, error) {
		if cur == nil {
			return nil, errSkip
		}
		if !cur.DeletionAllowed {
			return nil, logical.InvalidRequest("deletion is not allowed for this key")
		}
		return nil, nil
	})
	return nil, err
}

func (b *Backend) listKeys(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, policyPrefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(names))
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			keys = append(keys, n)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) pathKeyConfig() *framework.Path {
	return &framework.Path{
		Pattern: "keys/{name}/config",
		Fields: map[string]*framework.Field{
			"min_decryption_version": {Type: framework.TypeInt, Description: "Oldest version that may decrypt."},
			"min_encryption_version": {Type: framework.TypeInt, Description: "Oldest version that may encrypt; 0 means the latest."},
			"deletion_allowed":       {Type: framework.TypeBool, Description: "Allow the key to be deleted."},
			"exportable":             {Type: framework.TypeBool, Description: "Allow export; cannot be undone."},
			"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Allow plaintext backups; cannot be undone."},
			"auto_rotate_period":     {Type: framework.TypeDuration, Description: "Rotate automatically after this long; 0 never."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.configKey,
		},
		Synopsis: "Configure a named key.",
	}
}

type configIn struct {
	Name                 string         `field:"name"`
	MinDecryption        *int           `field:"min_decryption_version"`
	MinEncryption        *int           `field:"min_encryption_version"`
	DeletionAllowed      *bool          `field:"deletion_allowed"`
	Exportable           *bool          `field:"exportable"`
	AllowPlaintextBackup *bool          `field:"allow_plaintext_backup"`
	AutoRotatePeriod     *time.Duration `field:"auto_rotate_period"`
}

func (b *Backend) configKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in configIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	p, err := b.keys.update(ctx, req.Storage, in.Name, func(cur *policy) (*policy, error) {
		if cur == nil {
			return nil, logical.InvalidRequest("encryption key not found")
		}
		p := cur.clone()
		if in.MinDecryption != nil {
			n := *in.MinDecryption
			if n == 0 {
				n = 1
			}
			if n < 0 {
				return nil, logical.InvalidRequest("min decryption version cannot be negative")
			}
			if n > p.LatestVersion {
				return nil, logical.InvalidRequest("cannot set min decryption version of %d, latest key version is %d", n, p.LatestVersion)
			}
			if n < p.MinAvailableVersion {
				return nil, logical.InvalidRequest("cannot set min decryption version of %d below the min available version %d", n, p.MinAvailableVersion)
			}
			p.MinDecryptionVersion = n
		}
		if in.MinEncryption != nil {
			n := *in.MinEncryption
			if n < 0 {
				return nil, logical.InvalidRequest("min encryption version cannot be negative")
			}
			if n > p.LatestVersion {
				return nil, logical.InvalidRequest("cannot set min encryption version of %d, latest key version is %d", n, p.LatestVersion)
			}
			p.MinEncryptionVersion = n
		}
		if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion < p.MinDecryptionVersion {
			return nil, logical.InvalidRequest("min encryption version should not be less than min decryption version")
		}
		if in.DeletionAllowed != nil {
			p.DeletionAllowed = *in.DeletionAllowed
		}
		if in.Exportable != nil {
			if p.Exportable && !*in.Exportable {
				return nil, logical.InvalidRequest("export cannot be disabled on a key that already has it enabled")
			}
			p.Exportable = *in.Exportable
		}
		if in.AllowPlaintextBackup != nil {
			if p.AllowPlaintextBackup && !*in.AllowPlaintextBackup {
				return nil, logical.InvalidRequest("plaintext backups cannot be disabled on a key that already has it enabled")
			}
			p.AllowPlaintextBackup = *in.AllowPlaintextBackup
		}
		if in.AutoRotatePeriod != nil {
			if err := checkAutoRotate(*in.AutoRotatePeriod); err != nil {
				return nil, err
			}
			p.AutoRotatePeriod = *in.AutoRotatePeriod
		}
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: p.keyInfo()}, nil
}

func (b *Backend) pathRotate() *framework.Path {
	return &framework.Path{
		Pattern: "keys/{name}/rotate",
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.rotateKey,
		},
		Synopsis: "Add a new latest version to a key.",
	}
}

func (b *Backend) rotateKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	cur, err := b.keys.get(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, errKeyNotFound
	}
	// Generate outside the key's lock: RSA takes a while.
	v, err := newVersion(cur.Type, cur.KeySize, b.now())
	if err != nil {
		return nil, err
	}
	p, err := b.keys.update(ctx, req.Storage, name, func(cur *policy) (*policy, error) {
		if cur == nil {
			return nil, errKeyNotFound
		}
		next := cur.clone()
		next.rotate(v)
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: p.keyInfo()}, nil
}

func (b *Backend) pathTrim() *framework.Path {
	return &framework.Path{
		Pattern: "keys/{name}/trim",
		Fields: map[string]*framework.Field{
			"min_available_version": {Type: framework.TypeInt, Required: true, Description: "Versions below this are deleted for good."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.trimKey,
		},
		Synopsis: "Delete old versions of a key for good.",
	}
}

func (b *Backend) trimKey(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name string `field:"name"`
		Min  int    `field:"min_available_version"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	p, err := b.keys.update(ctx, req.Storage, in.Name, func(cur *policy) (*policy, error) {
		if cur == nil {
			return nil, errKeyNotFound
		}
		switch {
		case in.Min <= 0:
			return nil, logical.InvalidRequest("minimum available version should be positive")
		case in.Min > cur.MinDecryptionVersion:
			return nil, logical.InvalidRequest("cannot set minimum available version to a value greater than minimum decryption version")
		case cur.MinEncryptionVersion > 0 && in.Min > cur.MinEncryptionVersion:
			return nil, logical.InvalidRequest("cannot set minimum available version to a value greater than minimum encryption version")
		case in.Min < cur.MinAvailableVersion:
			return nil, logical.InvalidRequest("minimum available version cannot be lower than the current one (%d)", cur.MinAvailableVersion)
		}
		next := cur.clone()
		for n := range next.Versions {
			if n < in.Min {
				delete(next.Versions, n)
			}
		}
		next.MinAvailableVersion = in.Min
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: p.keyInfo()}, nil
}
