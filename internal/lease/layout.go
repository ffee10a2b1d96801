package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Key prefixes of the storage layout (see the package doc).
const (
	countsKey         = "meta/counts"
	idPrefix          = "id/"
	expPrefix         = "exp/"
	tokenPrefix       = "token/"
	irrevocablePrefix = "irrevocable/"
)

// bucketWidth is the granularity of the due index: the loop revokes a lease
// at most this long after it is due.
const bucketWidth = 100 * time.Millisecond

var (
	escaper   = strings.NewReplacer("%", "%25", "/", "%2F")
	unescaper = strings.NewReplacer("%2F", "/", "%25", "%")
)

// escape makes s a single key segment; unescape reverses it.
func escape(s string) string   { return escaper.Replace(s) }
func unescape(s string) string { return unescaper.Replace(s) }

// bucketTime rounds t up to the end of its bucket: a bucket named T holds
// what is due in (T-bucketWidth, T], so every lease in it is due once T
// has passed.
func bucketTime(t time.Time) time.Time {
	t = t.UTC()
	b := t.Truncate(bucketWidth)
	if b.Before(t) {
		b = b.Add(bucketWidth)
	}
	return b
}

// bucketPrefix is the index folder of the bucket ending at b (a bucketTime):
// "exp/20260101/13/45/07.3/".
func bucketPrefix(b time.Time) string {
	return expPrefix + b.Format("20060102/15/04/05.0") + "/"
}

// parseBucket reverses bucketPrefix.
func parseBucket(prefix string) (time.Time, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(prefix, expPrefix), "/")
	t, err := time.ParseInLocation("20060102/15/04/05.0", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad index bucket %q: %w", prefix, err)
	}
	return t, nil
}

func idKey(id string) string { return idPrefix + id }

func expKey(l *Lease) string { return bucketPrefix(bucketTime(l.due())) + escape(l.ID) }

func tokenKey(l *Lease) string {
	return tokenPrefix + escape(l.TokenAccessor) + "/" + escape(l.ID)
}

func irrevocableKey(id string) string { return irrevocablePrefix + escape(id) }

// indexKeys are the index entries that point at l.
func indexKeys(l *Lease) []string {
	keys := make([]string, 0, 2)
	if l.Irrevocable {
		keys = append(keys, irrevocableKey(l.ID))
	} else {
		keys = append(keys, expKey(l))
	}
	if l.TokenAccessor != "" {
		keys = append(keys, tokenKey(l))
	}
	return keys
}

// counts is the persisted counter record.
type counts struct {
	Total       int `json:"total"`
	Irrevocable int `json:"irrevocable"`
}

func (c counts) add(d counts) counts {
	return counts{Total: c.Total + d.Total, Irrevocable: c.Irrevocable + d.Irrevocable}
}

func readCounts(ctx context.Context, r storage.Reader) (counts, error) {
	var c counts
	e, err := r.Get(ctx, countsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read lease counts: %w", err)
	}
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return c, fmt.Errorf("decode lease counts: %w", err)
	}
	return c, nil
}

func readLease(ctx context.Context, r storage.Reader, id string) (*Lease, error) {
	e, err := r.Get(ctx, idKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read lease %q: %w", id, err)
	}
	var l Lease
	if err := json.Unmarshal(e.Value, &l); err != nil {
		return nil, fmt.Errorf("decode lease %q: %w", id, err)
	}
	return &l, nil
}

// replace turns old into next inside tx: the lease record, its index entries
// and the counters change together. old nil means a new lease, next nil a
// deleted one. It returns the change to the counters.
func replace(ctx context.Context, tx storage.Tx, old, next *Lease) (counts, error) {
	var d counts
	keep := map[string]bool{}
	if next != nil {
		v, err := json.Marshal(next)
		if err != nil {
			return d, fmt.Errorf("encode lease %q: %w", next.ID, err)
		}
		if err := tx.Put(ctx, &storage.Entry{Key: idKey(next.ID), Value: v}); err != nil {
			return d, fmt.Errorf("write lease %q: %w", next.ID, err)
		}
		for _, k := range indexKeys(next) {
			keep[k] = true
			if err := tx.Put(ctx, &storage.Entry{Key: k, Value: []byte{}}); err != nil {
				return d, fmt.Errorf("write lease index %q: %w", k, err)
			}
		}
		d.Total++
		if next.Irrevocable {
			d.Irrevocable++
		}
	}
	if old != nil {
		if next == nil {
			if err := tx.Delete(ctx, idKey(old.ID)); err != nil {
				return d, fmt.Errorf("delete lease %q: %w", old.ID, err)
			}
		}
		for _, k := range indexKeys(old) {
			if keep[k] {
				continue
			}
			if err := tx.Delete(ctx, k); err != nil {
				return d, fmt.Errorf("delete lease index %q: %w", k, err)
			}
		}
		d.Total--
		if old.Irrevocable {
			d.Irrevocable--
		}
	}
	if d == (counts{}) {
		return d, nil
	}
	c, err := readCounts(ctx, tx)
	if err != nil {
		return d, err
	}
	v, err := json.Marshal(c.add(d))
	if err != nil {
		return d, fmt.Errorf("encode lease counts: %w", err)
	}
	if err := tx.Put(ctx, &storage.Entry{Key: countsKey, Value: v}); err != nil {
		return d, fmt.Errorf("write lease counts: %w", err)
	}
	return d, nil
}
