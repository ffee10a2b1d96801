// Package token owns Tresor's tokens: the token store and the auth/token/*
// endpoints, with Vault's semantics and wire shapes.
//
// Open a store over a storage view private to it, start its expiry loop,
// and mount its backend at auth/token/:
//
//	ts, err := token.Open(ctx, view, token.Options{OnRevoke: core.revokeLeases})
//	ts.Start(ctx)
//	defer ts.Stop()
//	mounts.Add(&mount.Entry{Path: "auth/token/", Backend: ts.Backend()})
//
// On every request the core resolves the caller with Lookup (a cache hit
// neither touches storage nor allocates), calls Use for tokens with a limited
// number of uses, and revokes a token after its last use.
//
// Open reads a fixed handful of keys however many tokens are stored; entries
// are read on demand into a bounded cache (8192 entries, random eviction).
//
// # Secrets
//
// A service token ID ("hvs." + 24 base62 characters from crypto/rand) is a
// bearer secret: it is never stored or logged. Entries are stored under a
// salted HMAC of the ID; an accessor, a second random ID, is stored under
// its own HMAC and refers to a token without granting its power. An accessor
// presented as a token is simply not found.
//
// A batch token ("hvb.") is not stored at all: its ID is its entry, sealed
// with AES-256-GCM under a key the store keeps in its view. Batch tokens
// cannot be renewed, revoked on their own or create children; one with a
// parent dies with it.
//
// # Lifetimes
//
// Tokens form a tree: revoking a token revokes its descendants first
// (revoke-orphan instead makes the children orphans). TTLs are capped by the
// token's explicit max TTL and by Options.MaxTTL, counted from creation, and
// a renewal never extends past that cap; periodic tokens renew to their
// period for as long as they are renewed. An expired token is not found from
// the instant it expires, and the loop started by Start revokes it (with its
// children, through Options.OnRevoke) within a second. The loop pages
// through a stored index of expiry times, written in the same transaction
// as the token, and only through the part that is due; a view written
// before the index existed is indexed once, in the background, by Start.
//
// # Concurrency
//
// Writes to different tokens run concurrently, so that a backend with group
// commit (storage/bolt) makes many creations durable with one fsync; writes
// to one token are serialised. Children of one parent are created
// concurrently, but not while the parent is being revoked: a creation that
// races a revocation of its parent either commits first, and its token is
// revoked with the tree, or fails as if the parent were gone.
//
// Storage layout in the view: "salt", "batch-key", "id/<hmac>" (entries),
// "accessor/<hmac>" (accessor index), "parent/<hmac>/<child hmac>" (the
// tree), "exp/<yyyymmdd>/<hh>/<mm>/<ss>/<hmac>" (expiry index, by the
// second each token has expired by), "exp-index" (the index is complete),
// "path/<creation path>/<hmac>" (tokens as leases of the path that created
// them, listed by sys/leases/lookup), "path-index" (that index is
// complete) and "role/<name>".
package token
