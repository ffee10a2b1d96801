package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Backend is a mounted transit engine.
type Backend struct {
	*framework.Backend
	keys keyCache
	// now is the clock; tests replace it.
	now func() time.Time
}

// Factory builds a transit backend. Its key cache starts empty and fills
// as keys are used; the cache size is read from the mount's storage.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now}
	paths := []*framework.Path{
		b.pathKeys(), b.pathKeysList(), b.pathKeyConfig(), b.pathRotate(), b.pathTrim(),
		b.pathEncrypt(), b.pathDecrypt(), b.pathRewrap(), b.pathDatakey(),
		b.pathHMAC(), b.pathHMACAlgorithm(), b.pathSign(), b.pathSignAlgorithm(), b.pathVerify(), b.pathVerifyAlgorithm(),
		b.pathHash(), b.pathHashAlgorithm(), b.pathExport(), b.pathExportVersion(),
		b.pathBackup(), b.pathRestore(), b.pathRestoreName(), b.pathCacheConfig(), b.pathConfigKeys(),
	}
	paths = append(paths, b.pathsRandom()...)
	fb, err := framework.New(help, paths)
	if err != nil {
		return nil, fmt.Errorf("transit: %w", err)
	}
	b.Backend = fb
	if conf != nil && conf.Storage != nil {
		cfg, err := loadCacheConfig(ctx, conf.Storage)
		if err != nil {
			return nil, fmt.Errorf("transit: %w", err)
		}
		b.keys.size.Store(int64(cfg.Size))
	}
	return b, nil
}

const help = `The transit secrets engine encrypts, decrypts, signs and verifies data
with named keys that never leave Vault, and generates data keys, HMACs,
hashes and random bytes.`

// key returns the named key, rotating it first when its auto-rotate
// period has elapsed. It returns nil when the key does not exist.
func (b *Backend) key(ctx context.Context, st storage.Store, name string) (*policy, error) {
	p, err := b.keys.get(ctx, st, name)
	if err != nil || p == nil || p.AutoRotatePeriod <= 0 {
		return p, err
	}
	latest := p.Versions[p.LatestVersion]
	if latest == nil || b.now().Sub(latest.CreationTime) < p.AutoRotatePeriod {
		return p, nil
	}
	v, err := newVersion(p.Type, p.KeySize, b.now())
	if err != nil {
		return nil, err
	}
	return b.keys.update(ctx, st, name, func(cur *policy) (*policy, error) {
		if cur == nil || cur.LatestVersion != p.LatestVersion {
			return nil, errSkip // rotated or deleted meanwhile
		}
		next := cur.clone()
		next.rotate(v)
		return next, nil
	})
}

// b64 decodes a base64 request value; what names it in the error.
func b64(s, what string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, logical.InvalidRequest("failed to base64-decode %s", what)
	}
	return out, nil
}

// batchItem reads the fields of one batch_input element: a map from Go
// callers and single requests, or the item's raw JSON text as the HTTP
// layer hands it over (read without decoding the whole item).
type batchItem struct {
	framework.Object
	ix *framework.Members // the item's members, indexed once for all its fields; may be nil
}

// field is Object.Field, through the index when there is one.
func (it batchItem) field(k string, scratch []byte) (framework.Kind, []byte) {
	if it.ix != nil {
		return it.ix.Field(k, scratch)
	}
	return it.Field(k, scratch)
}

func errNotString(k string) error {
	return logical.InvalidRequest("invalid value for %q in batch item: expected a string", k)
}

func (it batchItem) str(k string) (string, error) {
	if !it.IsRaw() {
		switch v := it.Map()[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case json.Number:
			return v.String(), nil
		}
		return "", errNotString(k)
	}
	switch kind, text := it.field(k, nil); kind {
	case framework.Missing, framework.Null:
		return "", nil
	case framework.String, framework.Number:
		return string(text), nil
	}
	return "", errNotString(k)
}

func (it batchItem) int(k string) (int, error) {
	if !it.IsRaw() {
		switch v := it.Map()[k].(type) {
		case nil:
			return 0, nil
		case json.Number:
			n, err := strconv.Atoi(v.String())
			if err == nil {
				return n, nil
			}
		case float64:
			if v == float64(int(v)) {
				return int(v), nil
			}
		case int:
			return v, nil
		case string:
			if v == "" {
				return 0, nil
			}
			n, err := strconv.Atoi(v)
			if err == nil {
				return n, nil
			}
		}
		return 0, logical.InvalidRequest("invalid value for %q in batch item: expected an integer", k)
	}
	switch kind, text := it.field(k, nil); kind {
	case framework.Missing, framework.Null:
		return 0, nil
	case framework.String, framework.Number:
		if kind == framework.String && len(text) == 0 {
			return 0, nil
		}
		n, err := strconv.Atoi(string(text))
		if err == nil {
			return n, nil
		}
	}
	return 0, logical.InvalidRequest("invalid value for %q in batch item: expected an integer", k)
}

// b64 decodes the base64 field k into dst[:0], so that a batch can reuse
// one buffer; an absent or empty field is nil.
func (it batchItem) b64(k string, dst []byte) ([]byte, error) {
	var text []byte
	if !it.IsRaw() {
		s, err := it.str(k)
		if err != nil || s == "" {
			return nil, err
		}
		text = []byte(s)
	} else {
		switch kind, t := it.field(k, nil); kind {
		case framework.Missing, framework.Null:
			return nil, nil
		case framework.String, framework.Number:
			text = t
		default:
			return nil, errNotString(k)
		}
		if len(text) == 0 {
			return nil, nil
		}
	}
	out, err := base64.StdEncoding.AppendDecode(dst[:0], text)
	if err != nil {
		return nil, logical.InvalidRequest("failed to base64-decode %s", k)
	}
	return out, nil
}

// errText is an error's client-safe text: a *logical.Error's message, or a
// generic one for internal failures.
func errText(err error) (string, bool) {
	if e, ok := logical.AsError(err); ok {
		return e.Error(), false
	}
	return "internal error", true
}

// notFound is Vault's error for an operation on a missing key.
var errKeyNotFound = logical.InvalidRequest("encryption key not found")

// singleError turns a one-item failure into the request's error.
func singleError(err error) error {
	if err == nil {
		return nil
	}
	var le *logical.Error
	if errors.As(err, &le) {
		return le
	}
	return err
}
