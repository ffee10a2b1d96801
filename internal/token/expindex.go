package token

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// The expiry index keeps one empty entry per expiring token under
// "exp/<yyyymmdd>/<hh>/<mm>/<ss>/<token key>", the folders naming the
// second by which the token has expired (its expiry rounded up, UTC).
// Zero-padded names sort in time order, and the levels keep every List
// short: at most one name per day, hour, minute, second, or per token
// expiring within one second.

// expLevels are the layouts of the index folders, outermost first, each
// naming the folder by its cumulative path below expPrefix.
var expLevels = [...]string{"20060102", "20060102/15", "20060102/15/04", "20060102/15/04/05"}

// expBucket is the index bucket of an expiry time: the second it rounds up to.
func expBucket(t time.Time) time.Time {
	t = t.UTC()
	b := t.Truncate(time.Second)
	if b.Before(t) {
		b = b.Add(time.Second)
	}
	return b
}

// expKeyAt is the index key of the token under k in the bucket of t.
func expKeyAt(t time.Time, k key) string {
	return expPrefix + expBucket(t).Format(expLevels[len(expLevels)-1]) + "/" + k.String()
}

// putExpiry indexes e, stored under k, if it expires.
func putExpiry(ctx context.Context, tx storage.Writer, e *Entry, k key) error {
	if e.ExpireTime.IsZero() {
		return nil
	}
	return tx.Put(ctx, &storage.Entry{Key: expKeyAt(e.ExpireTime, k), Value: []byte{}})
}

// deleteExpiry removes the index entry of e, stored under k, if it expires.
func deleteExpiry(ctx context.Context, tx storage.Writer, e *Entry, k key) error {
	if e.ExpireTime.IsZero() {
		return nil
	}
	return tx.Delete(ctx, expKeyAt(e.ExpireTime, k))
}

// walkDue calls fn, in expiry order, with the index key and token key name
// of every entry whose bucket is due at now. It lists only the folders on
// the way to due buckets and the first one past them, whose start it
// returns as next (zero when the index holds nothing later). It stops at
// the first error fn returns.
func (s *Store) walkDue(ctx context.Context, now time.Time, fn func(indexKey, name string) error) (next time.Time, err error) {
	_, next, err = s.walkLevel(ctx, now, 0, "", fn)
	return next, err
}

// walkLevel walks the folder expPrefix+path at depth level; stop reports
// that it reached a folder not yet due.
func (s *Store) walkLevel(ctx context.Context, now time.Time, level int, path string, fn func(indexKey, name string) error) (stop bool, next time.Time, err error) {
	names, err := s.store.List(ctx, expPrefix+path)
	if err != nil {
		return true, time.Time{}, fmt.Errorf("list expiry index: %w", err)
	}
	if level == len(expLevels) {
		for _, name := range names {
			if err := fn(expPrefix+path+name, name); err != nil {
				return true, time.Time{}, err
			}
		}
		return false, time.Time{}, nil
	}
	for _, name := range names {
		seg, ok := strings.CutSuffix(name, "/")
		if !ok {
			continue // a stray entry, not a folder
		}
		start, err := time.ParseInLocation(expLevels[level], path+seg, time.UTC)
		if err != nil {
			continue // not ours; never due
		}
		if start.After(now) {
			return true, start, nil
		}
		if stop, next, err := s.walkLevel(ctx, now, level+1, path+seg+"/", fn); stop || err != nil {
			return true, next, err
		}
	}
	return false, time.Time{}, nil
}
