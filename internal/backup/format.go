// Package backup copies a Tresor store to a file and back: the format of
// sys/storage/backup and sys/storage/restore, and scheduled local backups.
//
// A backup holds every entry of the storage.Store below the barrier, as
// stored: barrier entries stay encrypted, so a backup is useless without
// the unseal keys of the cluster it came from. It is taken from one
// consistent snapshot of the store (storage.ReadConsistent).
//
// The file format, version 1:
//
//	magic    "TRESORBK"             8 bytes
//	version  uint16, big-endian     2 bytes (1)
//	entries  repeated, keys in strictly increasing byte order:
//	         0x01 | uvarint key length | key | uvarint value length | value
//	trailer  0x00 | uint64 big-endian entry count
//	         | SHA-256 of every byte before it, from the magic to the count
//	then the end of the file.
//
// Readers check all of it: the magic and version, the lengths against
// MaxKeySize and MaxValueSize, the key order, the count and the digest, and
// that nothing follows. A truncated, reordered or altered file fails with an
// error wrapping ErrInvalid. The digest catches accidents and tampering by
// someone who does not recompute it; the barrier's authentication tags on
// each entry (see Verify in the barrier) catch the rest.
package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf8"

	"github.com/tresorhq/tresor/internal/storage"
)

// ErrInvalid is wrapped by every error about a malformed, truncated or
// altered backup file.
var ErrInvalid = errors.New("invalid backup file")

const (
	magic   = "TRESORBK"
	version = 1

	tagEntry   = 0x01
	tagTrailer = 0x00

	// MaxKeySize bounds a key (bbolt's own limit is 32 KiB).
	MaxKeySize = 64 << 10
	// MaxValueSize bounds one value.
	MaxValueSize = 512 << 20
)

// Info describes a backup.
type Info struct {
	Entries int
	Bytes   int64
}

// Write copies every entry of s, from one consistent snapshot, to w in the
// backup format. If s cannot give a snapshot without a transaction, the
// copy may start over; w then receives the output of the last attempt only
// if w is a *bytes.Buffer (it is reset), so pass one or a Viewer store.
func Write(ctx context.Context, s storage.Store, w io.Writer) (Info, error) {
	var info Info
	err := storage.ReadConsistent(ctx, s, func(r storage.Reader) error {
		if b, ok := w.(*bytes.Buffer); ok {
			b.Reset()
		}
		var err error
		info, err = write(ctx, r, w)
		return err
	})
	return info, err
}

func write(ctx context.Context, r storage.Reader, out io.Writer) (Info, error) {
	cw := &countWriter{w: out}
	bw := bufio.NewWriterSize(cw, 64<<10)
	h := sha256.New()
	w := io.MultiWriter(bw, h)
	var hdr [10]byte
	copy(hdr[:], magic)
	binary.BigEndian.PutUint16(hdr[8:], version)
	if _, err := w.Write(hdr[:]); err != nil {
		return Info{}, err
	}
	var n int
	last := ""
	var buf [binary.MaxVarintLen64]byte
	err := storage.Walk(ctx, r, "", func(key string) error {
		if n > 0 && key <= last {
			return fmt.Errorf("backup: store listed %q after %q, out of order", key, last)
		}
		e, err := r.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // listed but gone: a store without a snapshot
		}
		if err != nil {
			return fmt.Errorf("backup: read %q: %w", key, err)
		}
		if len(key) > MaxKeySize || len(e.Value) > MaxValueSize {
			return fmt.Errorf("backup: entry %q is too large for the format", key)
		}
		if _, err := w.Write([]byte{tagEntry}); err != nil {
			return err
		}
		for _, field := range [][]byte{[]byte(key), e.Value} {
			if _, err := w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(field)))]); err != nil {
				return err
			}
			if _, err := w.Write(field); err != nil {
				return err
			}
		}
		last = key
		n++
		return nil
	})
	if err != nil {
		return Info{}, err
	}
	var trailer [9]byte
	trailer[0] = tagTrailer
	binary.BigEndian.PutUint64(trailer[1:], uint64(n))
	if _, err := w.Write(trailer[:]); err != nil {
		return Info{}, err
	}
	if _, err := bw.Write(h.Sum(nil)); err != nil {
		return Info{}, err
	}
	if err := bw.Flush(); err != nil {
		return Info{}, err
	}
	return Info{Entries: n, Bytes: cw.n}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Read reads a whole backup from r, calling fn for each entry in order
// (fn may be nil). Entries reach fn before the trailer is checked, so a
// caller that must not act on a bad file reads it once to check it and
// again to use it. The entry passed to fn is valid only during the call.
func Read(r io.Reader, fn func(e *storage.Entry) error) (Info, error) {
	p := &parser{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}
	info, err := p.run(fn)
	info.Bytes = p.n
	return info, err
}

// Check reads a whole backup from b and reports whether it is valid.
func Check(b []byte) (Info, error) {
	return Read(bytes.NewReader(b), nil)
}

type parser struct {
	r   *bufio.Reader
	h   hash.Hash
	n   int64
	buf []byte
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// full reads exactly len(p) bytes into p and hashes them.
func (p *parser) full(p2 []byte, what string) error {
	n, err := io.ReadFull(p.r, p2)
	p.n += int64(n)
	p.h.Write(p2[:n])
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid("truncated in the %s at byte %d", what, p.n)
	}
	if err != nil {
		return fmt.Errorf("backup: read: %w", err)
	}
	return nil
}

func (p *parser) uvarint(what string) (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		var b [1]byte
		if err := p.full(b[:], what); err != nil {
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && b[0] > 1 || i >= binary.MaxVarintLen64 {
			return 0, invalid("%s overflows at byte %d", what, p.n)
		}
		v |= uint64(b[0]&0x7f) << (7 * i)
		if b[0] < 0x80 {
			if i > 0 && b[0] == 0 {
				return 0, invalid("%s is not minimally encoded at byte %d", what, p.n)
			}
			return v, nil
		}
	}
}

// field reads a length-prefixed field of at most limit bytes. The returned
// slice is reused by the next call.
func (p *parser) field(what string, limit uint64) ([]byte, error) {
	n, err := p.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, invalid("%s of %d bytes exceeds the limit of %d at byte %d", what, n, limit, p.n)
	}
	// Grow as the bytes arrive, so a huge claimed length in a short file
	// costs no more memory than the file.
	out := p.buf[:0]
	for uint64(len(out)) < n {
		chunk := min(n-uint64(len(out)), 1<<20)
		start := len(out)
		out = append(out, make([]byte, chunk)...)
		if err := p.full(out[start:], what); err != nil {
			return nil, err
		}
	}
	p.buf = out
	return out, nil
}

func (p *parser) run(fn func(e *storage.Entry) error) (Info, error) {
	var hdr [10]byte
	if err := p.full(hdr[:], "header"); err != nil {
		return Info{}, err
	}
	if string(hdr[:8]) != magic {
		return Info{}, invalid("not a Tresor backup (bad magic)")
	}
	if v := binary.BigEndian.Uint16(hdr[8:]); v != version {
		return Info{}, invalid("unsupported version %d", v)
	}
	var n int
	var last string
	for {
		var tag [1]byte
		if err := p.full(tag[:], "entry tag"); err != nil {
			return Info{}, err
		}
		switch tag[0] {
		case tagEntry:
		case tagTrailer:
			return p.trailer(n)
		default:
			return Info{}, invalid("unknown record tag %#x at byte %d", tag[0], p.n)
		}
		k, err := p.field("key", MaxKeySize)
		if err != nil {
			return Info{}, err
		}
		key := string(k)
		if key == "" || !utf8.ValidString(key) {
			return Info{}, invalid("empty or non-UTF-8 key at byte %d", p.n)
		}
		if n > 0 && key <= last {
			return Info{}, invalid("keys out of order at byte %d", p.n)
		}
		v, err := p.field("value", MaxValueSize)
		if err != nil {
			return Info{}, err
		}
		last = key
		n++
		if fn != nil {
			if err := fn(&storage.Entry{Key: key, Value: v}); err != nil {
				return Info{}, err
			}
		}
	}
}

func (p *parser) trailer(n int) (Info, error) {
	var count [8]byte
	if err := p.full(count[:], "trailer"); err != nil {
		return Info{}, err
	}
	want := p.h.Sum(nil)
	var sum [sha256.Size]byte
	got, err := io.ReadFull(p.r, sum[:])
	p.n += int64(got)
	if err != nil {
		return Info{}, invalid("truncated in the checksum at byte %d", p.n)
	}
	if c := binary.BigEndian.Uint64(count[:]); c != uint64(n) {
		return Info{}, invalid("trailer counts %d entries, the file holds %d", c, n)
	}
	if !bytes.Equal(sum[:], want) {
		return Info{}, invalid("SHA-256 checksum mismatch: the file was altered or damaged")
	}
	if _, err := p.r.ReadByte(); err != io.EOF {
		return Info{}, invalid("data after the trailer")
	}
	return Info{Entries: n}, nil
}
