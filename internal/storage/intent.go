package storage

import "context"

type writeIntentKey struct{}

// WithWriteIntent marks ctx for reads that only decide how a write is
// handled: the ACL existence check, which picks the create or the update
// capability. A replicated store may answer them from the leader's local
// state without first confirming that it still leads (storage/raft): the
// write they precede commits only through that leader's log, so a deposed
// leader fails it, and a leader's local state holds every write
// acknowledged to anyone.
func WithWriteIntent(ctx context.Context) context.Context {
	return context.WithValue(ctx, writeIntentKey{}, true)
}

// WriteIntent reports whether ctx was marked by WithWriteIntent.
func WriteIntent(ctx context.Context) bool {
	v, _ := ctx.Value(writeIntentKey{}).(bool)
	return v
}
