// Package lease is Tresor's expiration manager: every secret an engine hands
// out with a TTL gets a lease here, and the lease is revoked (through the
// issuing engine) when it expires, when it is revoked explicitly, or when
// the token that created it dies.
//
// Open a manager over a storage view private to it, start its expiry loop,
// and register the secrets of responses:
//
//	m, err := lease.Open(ctx, view, lease.Options{Revoke: core.revokeSecret})
//	m.Start(ctx)
//	defer m.Stop()
//	id, err := m.Register(ctx, &lease.Lease{
//		Path:          "database/creds/app", // mount path + request path
//		MountAccessor: entry.Accessor,
//		TokenAccessor: te.Accessor,
//		TTL:           secret.TTL,
//		MaxTTL:        mountMaxTTL,
//		Renewable:     secret.Renewable,
//		InternalData:  secret.InternalData,
//		Data:          respData,
//	})
//
// Lease IDs read "<path>/<24 base62 characters from crypto/rand>", as in
// Vault ("database/creds/app/AbC..."). Renew extends a lease by the
// increment asked for (or its issued TTL), never beyond issue time + MaxTTL.
// Revoke, RevokePrefix and RevokeByToken call Options.Revoke and then
// delete; RevokeByToken hands a lease whose engine refuses to the expiry
// loop instead of failing, so a dead token never keeps its secrets.
//
// # Expiry
//
// The loop started by Start revokes each lease within a second of its
// expiry (in practice within about 100 ms). A failed revocation is retried
// after 1 s, 2 s, 4 s ... (capped at an hour); after MaxRevokeAttempts
// failures the lease is marked irrevocable: it is kept, counted by Count,
// listed by Irrevocable, and no longer retried until an operator revokes it.
//
// # Lazy loading
//
// Unlike Vault, which reads every lease at unseal, the manager keeps no
// lease in memory. Open reads one key (the counters), and the loop pages in
// only the leases due now, from an index ordered by expiry: its cost per
// wake-up is five small List calls plus the due leases, whatever the number
// of leases stored. Unseal time therefore does not grow with the lease count.
//
// # Storage layout
//
// Inside the view (every lease and its index entries are written in one
// transaction):
//
//	meta/counts                                  {"total":n,"irrevocable":n}
//	id/<lease id>                                the lease, JSON
//	exp/<yyyymmdd>/<hh>/<mm>/<ss.d>/<esc id>     due index (UTC, 100 ms buckets)
//	token/<esc accessor>/<esc id>                leases of a token
//	irrevocable/<esc id>                         leases given up on
//
// <esc id> is the lease ID with "%" and "/" percent-escaped so that it is
// one key segment. An exp bucket holds the leases due in the 100 ms ending
// at its name, so a List in the index returns at most 600 names per level
// above the leaves, and a leaf bucket only holds leases due together. The
// counters are updated in the same transactions as the leases, so they are
// exact across restarts; Tidy removes index entries that point nowhere.
package lease
