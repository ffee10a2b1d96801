// Package kv is Vault's key/value secrets engine, versions 1 and 2, behind
// one logical.Factory. The mount option "version" chooses: "1" or absent
// gives KV v1, "2" gives KV v2.
//
// KV v1 stores one JSON object per path: read, write (replaces), delete,
// and list (folders end in "/").
//
// KV v2 keeps versions. Its endpoints, relative to the mount, are Vault's:
//
//	data/<path>      read (?version=N), write {"data":{},"options":{"cas":N}},
//	                 patch (JSON merge patch into a new version), delete (latest)
//	metadata/<path>  read, list, write/patch settings, delete everything
//	delete/<path>    soft-delete {"versions":[...]}
//	undelete/<path>  undo soft deletes
//	destroy/<path>   remove versions' data for good
//	subkeys/<path>   the key structure of a version, without values
//	config           mount-wide max_versions, cas_required, delete_version_after
//
// Beyond Vault, LIST metadata/<prefix>?recursive=true (and LIST
// <prefix>?recursive=true on v1) returns every key below the prefix as a
// full relative path, sorted, in pages of `limit` (default 1000, at most
// 10000) starting after the key `after`.
//
// # Storage
//
// A v1 secret is the JSON of its data under its own path. A v2 secret is a
// metadata record under "./meta/<path>" and one record per version under
// "./ver/<path>/<n>". The metadata record (binary, see metacodec.go) also
// carries a copy of the current version's data, so reading the latest
// version is one Get whatever the mount's size; older versions take a
// second. The "." segment cannot occur in
// a client path, so v1 keys left from before an upgrade never collide with
// v2 records. A v2 write updates metadata and version in one transaction,
// which is what makes check-and-set safe under concurrency.
//
// Mounting version 2 over v1 data upgrades it in place when the backend is
// built: each v1 key becomes version 1 of a v2 secret, and a marker key
// records that the upgrade finished.
//
// # Moving secrets
//
// MoveSecret serves the core's sys/kv/move: it moves (or copies) one secret,
// with its full v2 history, between two mounts of the same KV version or
// within one. The core passes a storage.TxView of each mount inside a
// single storage transaction, so the move commits whole or not at all:
//
//	err := barrier.Update(ctx, func(tx storage.Tx) error {
//		return kv.MoveSecret(ctx,
//			storage.TxView(tx, "logical/"+srcUUID+"/"), 2, "app/db",
//			storage.TxView(tx, "logical/"+dstUUID+"/"), 2, "db", false)
//	})
package kv
