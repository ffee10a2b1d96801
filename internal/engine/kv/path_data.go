package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) pathData() *framework.Path {
	return &framework.Path{
		Pattern: "data/{path...}",
		Fields: map[string]*framework.Field{
			"version": {Type: framework.TypeInt, Validate: nonNegative, Description: "Version to read; 0 or absent reads the latest."},
			"data":    {Type: framework.TypeMap, Description: "The secret's key/value pairs."},
			"options": {Type: framework.TypeMap, Description: `Write options; "cas" is the check-and-set version.`},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readData,
			logical.CreateOperation: b.writeData,
			logical.UpdateOperation: b.writeData,
			logical.PatchOperation:  b.patchData,
			logical.DeleteOperation: b.deleteLatest,
		},
		ExistenceCheck: metaExists,
		Synopsis:       "Read, write, patch and delete versions of a secret.",
		Description: `A write stores a new version. With options.cas, it succeeds only if cas
equals the current version (0: only if the secret does not exist). A patch
merges a JSON merge patch into the latest version. A delete soft-deletes
the latest version.`,
	}
}

type dataIn struct {
	Path    string         `field:"path"`
	Version int            `field:"version"`
	Data    map[string]any `field:"data"`
	Options map[string]any `field:"options"`
}

// optionFields are the fields of a write's "options" object.
var optionFields = map[string]*framework.Field{
	"cas": {Type: framework.TypeInt, Validate: nonNegative},
}

type optionsIn struct {
	CAS *int `field:"cas"`
}

func (b *Backend) readData(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in dataIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	n, md, meta, err := b.liveVersion(ctx, req, in.Path, in.Version)
	if err != nil {
		return nil, err
	}
	var data json.RawMessage
	if n != 0 {
		if data = meta.dataOf(n); data != nil {
			data, err = rawObject(data, metaKey(in.Path))
		} else {
			data, err = readRaw(ctx, req.Storage, in.Path, n)
		}
		if err != nil {
			return nil, err
		}
	}
	if data == nil {
		return goneResponse("data", md), nil
	}
	return &logical.Response{Data: map[string]any{"data": data, "metadata": md}}, nil
}

// liveVersion finds the version of path a reader gets (version 0: the
// current one), its metadata block and the key's metadata record. It
// returns version 0 with the metadata block when that version is deleted
// or destroyed (the caller answers Vault's 404 that carries the metadata).
func (b *Backend) liveVersion(ctx context.Context, req *framework.Request, path string, version int) (int, map[string]any, *keyMeta, error) {
	if !validKey(path) {
		return 0, nil, nil, logical.ErrUnsupportedPath
	}
	meta, err := loadMeta(ctx, req.Storage, path)
	if err != nil || meta == nil {
		return 0, nil, nil, notFoundOr(err)
	}
	n := version
	if n == 0 {
		n = meta.Current
	}
	v := meta.Versions[n]
	if v == nil {
		return 0, nil, nil, errNotFound
	}
	md := versionMetadata(meta, n, v)
	if v.Destroyed || v.deleted(b.now()) {
		return 0, md, meta, nil
	}
	return n, md, meta, nil
}

// goneResponse is Vault's answer for a deleted or destroyed version: a 404
// that still carries the version's metadata.
func goneResponse(field string, md map[string]any) *logical.Response {
	return &logical.Response{Data: map[string]any{field: nil, "metadata": md}, StatusCode: 404}
}

func notFoundOr(err error) error {
	if err != nil {
		return err
	}
	return errNotFound
}

func (b *Backend) writeData(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in dataIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !validKey(in.Path) {
		return nil, logical.ErrUnsupportedPath
	}
	if in.Data == nil {
		return nil, logical.InvalidRequest("no data provided")
	}
	var opts optionsIn
	if _, err := framework.Decode(optionFields, in.Options, &opts); err != nil {
		return nil, err
	}
	now := b.now().UTC()
	var md map[string]any
	err := req.Storage.Update(ctx, func(tx storage.Tx) error {
		cfg, meta, err := loadForWrite(ctx, tx, in.Path, now)
		if err != nil {
			return err
		}
		if err := checkCAS(cfg, meta, opts.CAS); err != nil {
			return err
		}
		md, err = addVersion(ctx, tx, cfg, meta, in.Path, in.Data, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: md}, nil
}

// patchData merges a JSON merge patch (RFC 7386) of "data" into the latest
// version and stores the result as a new version.
func (b *Backend) patchData(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in dataIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !validKey(in.Path) {
		return nil, logical.ErrUnsupportedPath
	}
	if in.Data == nil {
		return nil, logical.InvalidRequest("no data provided")
	}
	var opts optionsIn
	if _, err := framework.Decode(optionFields, in.Options, &opts); err != nil {
		return nil, err
	}
	now := b.now().UTC()
	var resp *logical.Response
	err := req.Storage.Update(ctx, func(tx storage.Tx) error {
		resp = nil
		cfg, meta, err := loadForWrite(ctx, tx, in.Path, now)
		if err != nil {
			return err
		}
		if meta.Current == 0 {
			return errNotFound
		}
		latest := meta.Versions[meta.Current]
		if latest == nil {
			return errNotFound
		}
		if latest.Destroyed || latest.deleted(now) {
			resp = goneResponse("data", versionMetadata(meta, meta.Current, latest))
			return nil
		}
		if err := checkCAS(cfg, meta, opts.CAS); err != nil {
			return err
		}
		data, err := loadData(ctx, tx, in.Path, meta.Current)
		if err != nil {
			return err
		}
		if data == nil {
			return errNotFound
		}
		md, err := addVersion(ctx, tx, cfg, meta, in.Path, mergePatch(data, in.Data), now)
		resp = &logical.Response{Data: md}
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// deleteLatest soft-deletes the latest version.
func (b *Backend) deleteLatest(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in dataIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !validKey(in.Path) {
		return nil, logical.ErrUnsupportedPath
	}
	now := b.now().UTC()
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		meta, err := loadMeta(ctx, tx, in.Path)
		if err != nil || meta == nil {
			return err
		}
		v := meta.Versions[meta.Current]
		if v == nil || v.Destroyed || v.deleted(now) {
			return nil
		}
		v.Deletion = now
		return saveMeta(ctx, tx, in.Path, meta)
	})
}

// loadForWrite reads the mount config and the key's metadata inside a
// write transaction, starting fresh metadata for a new key.
func loadForWrite(ctx context.Context, tx storage.Tx, path string, now time.Time) (*mountConfig, *keyMeta, error) {
	cfg, err := loadConfig(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	meta, err := loadMeta(ctx, tx, path)
	if err != nil {
		return nil, nil, err
	}
	if meta == nil {
		meta = &keyMeta{Created: now, Updated: now, Versions: make(map[int]*versionInfo)}
	}
	return cfg, meta, nil
}

// checkCAS enforces check-and-set: a given cas must equal the current
// version, and one is required when the mount or the key says so.
func checkCAS(cfg *mountConfig, meta *keyMeta, cas *int) error {
	if cas == nil {
		if cfg.CASRequired || meta.CASRequired {
			return logical.InvalidRequest("check-and-set parameter required for this call")
		}
		return nil
	}
	if *cas != meta.Current {
		return logical.InvalidRequest("check-and-set parameter did not match the current version")
	}
	return nil
}

// addVersion stores data as the next version of path, trims versions
// beyond the limit and saves meta, all inside tx. It returns the write
// response's data.
func addVersion(ctx context.Context, tx storage.Tx, cfg *mountConfig, meta *keyMeta, path string, data map[string]any, now time.Time) (map[string]any, error) {
	n := meta.Current + 1
	v := &versionInfo{Created: now}
	if d := cfg.deleteVersionAfter(meta); d > 0 {
		v.Deletion = now.Add(d)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode version %d: %w", n, err)
	}
	if err := tx.Put(ctx, &storage.Entry{Key: versionKey(path, n), Value: raw}); err != nil {
		return nil, fmt.Errorf("write version %d: %w", n, err)
	}
	meta.Current, meta.Updated = n, now
	meta.Versions[n] = v
	meta.DataVersion, meta.Data = n, raw
	if err := trimVersions(ctx, tx, cfg, meta, path); err != nil {
		return nil, err
	}
	if err := saveMeta(ctx, tx, path, meta); err != nil {
		return nil, err
	}
	return versionMetadata(meta, n, v), nil
}

// trimVersions deletes the oldest versions beyond the key's limit.
func trimVersions(ctx context.Context, tx storage.Tx, cfg *mountConfig, meta *keyMeta, path string) error {
	// Like Vault, oldest_version stays 0 until the limit is first reached.
	keepFrom := meta.Current - cfg.maxVersions(meta) + 1
	if keepFrom < 1 || keepFrom <= meta.Oldest {
		return nil
	}
	for n := range meta.Versions {
		if n >= keepFrom {
			continue
		}
		delete(meta.Versions, n)
		if err := tx.Delete(ctx, versionKey(path, n)); err != nil {
			return fmt.Errorf("trim version %d: %w", n, err)
		}
	}
	meta.Oldest = keepFrom
	return nil
}

// metaExists is the existence check of data/ and metadata/: a secret
// exists once it has metadata.
func metaExists(ctx context.Context, req *framework.Request) (bool, error) {
	path := req.Param("path")
	if !validKey(path) {
		return false, nil
	}
	meta, err := loadMeta(ctx, req.Storage, path)
	return meta != nil, err
}

// errNegative is the validation error of fields that must be >= 0.
var errNegative = errors.New("must not be negative")

func nonNegative(v any) error {
	if v.(int) < 0 {
		return errNegative
	}
	return nil
}
