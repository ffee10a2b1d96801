package kv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Errors of MoveSecret that a client sees.
var (
	// ErrMoveVersionMismatch is returned when the two mounts are not both
	// KV v1 or both KV v2: a v1 value has no history to carry, and a v2
	// history has no v1 form.
	ErrMoveVersionMismatch = &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"cannot move between KV version 1 and version 2 mounts"}}
	// ErrMoveSourceNotFound is the 404 for a source path holding no secret.
	ErrMoveSourceNotFound = &logical.Error{Kind: logical.KindNotFound, Messages: []string{"source secret not found"}}
	// ErrMoveDestinationExists is returned when anything of a secret is
	// already stored at the destination path: a v1 value, v2 metadata, or
	// any v2 version record.
	ErrMoveDestinationExists = &logical.Error{Kind: logical.KindInvalidRequest, Messages: []string{"destination already exists"}}
)

// MoveSecret moves the secret at srcPath of one KV mount to dstPath of
// another (or the same) mount, with its whole history; with copy set, the
// source is left in place. It serves the core's sys/kv/move.
//
// srcVersion and dstVersion are the mounts' KV versions, 1 or 2. src and dst
// are views of each mount's storage inside one storage transaction (built
// with storage.TxView over a single Update), so the caller commits the
// whole move or none of it; MoveSecret itself never commits and, on error,
// the caller must roll back by returning the error from Update.
//
// Paths are secret paths relative to the mount, without a data/ or
// metadata/ prefix. For KV v2 the metadata record (current and oldest
// version, max_versions, cas_required, delete_version_after, custom
// metadata, times) and every version record are copied byte for byte, so
// version numbers, created and deletion times and destroyed flags are kept
// exactly; the destination mount's own max_versions applies from its next
// write on.
func MoveSecret(ctx context.Context, src storage.Tx, srcVersion int, srcPath string, dst storage.Tx, dstVersion int, dstPath string, copy bool) error {
	for _, v := range []int{srcVersion, dstVersion} {
		if v != 1 && v != 2 {
			return logical.InvalidRequest("invalid KV version %d: must be 1 or 2", v)
		}
	}
	if srcVersion != dstVersion {
		return ErrMoveVersionMismatch
	}
	if !validKey(srcPath) {
		return logical.InvalidRequest(`invalid source path: want a secret path without empty, "." or ".." segments or a trailing "/"`)
	}
	if !validKey(dstPath) {
		return logical.InvalidRequest(`invalid destination path: want a secret path without empty, "." or ".." segments or a trailing "/"`)
	}
	if srcVersion == 1 {
		return moveV1(ctx, src, srcPath, dst, dstPath, copy)
	}
	return moveV2(ctx, src, srcPath, dst, dstPath, copy)
}

// moveV1 moves the one value a v1 secret is.
func moveV1(ctx context.Context, src storage.Tx, srcPath string, dst storage.Tx, dstPath string, copy bool) error {
	e, err := src.Get(ctx, srcPath)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrMoveSourceNotFound
	}
	if err != nil {
		return fmt.Errorf("kv move: read source: %w", err)
	}
	if ok, err := exists(ctx, dst, dstPath); err != nil || ok {
		return destinationErr(ok, err)
	}
	if err := dst.Put(ctx, &storage.Entry{Key: dstPath, Value: e.Value}); err != nil {
		return fmt.Errorf("kv move: write destination: %w", err)
	}
	if copy {
		return nil
	}
	if err := src.Delete(ctx, srcPath); err != nil {
		return fmt.Errorf("kv move: delete source: %w", err)
	}
	return nil
}

// moveV2 moves a v2 secret's metadata and version records. Everything is
// read and checked before the first write; the source and destination keys
// of two different paths never overlap, even within one mount.
func moveV2(ctx context.Context, src storage.Tx, srcPath string, dst storage.Tx, dstPath string, copy bool) error {
	metaEntry, err := src.Get(ctx, metaKey(srcPath))
	if errors.Is(err, storage.ErrNotFound) {
		return ErrMoveSourceNotFound
	}
	if err != nil {
		return fmt.Errorf("kv move: read source metadata: %w", err)
	}
	meta, err := decodeMeta(metaEntry.Value)
	if err != nil {
		return fmt.Errorf("kv move: decode source metadata: %w", err)
	}

	if ok, err := exists(ctx, dst, metaKey(dstPath)); err != nil || ok {
		return destinationErr(ok, err)
	}
	if nums, err := versionRecords(ctx, dst, dstPath); err != nil || len(nums) > 0 {
		return destinationErr(len(nums) > 0, err)
	}

	// Destroyed versions have no record; they live on in the metadata.
	var records []*storage.Entry
	for _, n := range slices.Sorted(maps.Keys(meta.Versions)) {
		e, err := src.Get(ctx, versionKey(srcPath, n))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("kv move: read source version %d: %w", n, err)
		}
		records = append(records, &storage.Entry{Key: versionKey(dstPath, n), Value: e.Value})
	}

	for _, e := range records {
		if err := dst.Put(ctx, e); err != nil {
			return fmt.Errorf("kv move: write %q: %w", e.Key, err)
		}
	}
	if err := dst.Put(ctx, &storage.Entry{Key: metaKey(dstPath), Value: metaEntry.Value}); err != nil {
		return fmt.Errorf("kv move: write metadata: %w", err)
	}
	if copy {
		return nil
	}

	// Delete every version record found, not only those the metadata
	// lists, so that nothing of the source survives the move.
	nums, err := versionRecords(ctx, src, srcPath)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if err := src.Delete(ctx, versionKey(srcPath, n)); err != nil {
			return fmt.Errorf("kv move: delete source version %d: %w", n, err)
		}
	}
	if err := src.Delete(ctx, metaKey(srcPath)); err != nil {
		return fmt.Errorf("kv move: delete source metadata: %w", err)
	}
	return nil
}

// versionRecords lists the version numbers stored for path. Names ending in
// "/" below "./ver/<path>/" belong to deeper secrets ("<path>/x"), not to
// path.
func versionRecords(ctx context.Context, r storage.Reader, path string) ([]int, error) {
	names, err := r.List(ctx, verPrefix+path+"/")
	if err != nil {
		return nil, fmt.Errorf("kv move: list versions: %w", err)
	}
	var nums []int
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			continue
		}
		n, err := strconv.Atoi(name)
		if err != nil {
			return nil, fmt.Errorf("kv move: unexpected version record %q", name)
		}
		nums = append(nums, n)
	}
	return nums, nil
}

// exists reports whether key holds an entry.
func exists(ctx context.Context, r storage.Reader, key string) (bool, error) {
	_, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kv move: read destination: %w", err)
	}
	return true, nil
}

// destinationErr is the error for a destination check that found
// something (found) or failed (err).
func destinationErr(found bool, err error) error {
	if err != nil {
		return err
	}
	if found {
		return ErrMoveDestinationExists
	}
	return nil
}

// MoveSecretTo moves (or, with copy, copies) the secret at srcPath, read
// through src, to dstPath of the KV mount served by to, written through
// dst: sys/kv/move finds this method by type assertion, so the system
// backend needs to know nothing of KV's storage layout.
func (b *Backend) MoveSecretTo(ctx context.Context, src storage.Tx, srcPath string, to logical.Backend, dst storage.Tx, dstPath string, copy bool) error {
	d, ok := to.(*Backend)
	if !ok {
		return logical.InvalidRequest("the destination is not a KV mount")
	}
	return MoveSecret(ctx, src, b.version, srcPath, dst, d.version, dstPath, copy)
}

// PolicyPath is the path below the mount that a policy names for the
// secret at rel: "data/<rel>" on version 2.
func (b *Backend) PolicyPath(rel string) string {
	if b.version == 2 {
		return "data/" + rel
	}
	return rel
}
