package kv

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"time"
)

// A v2 metadata record is stored in a compact binary form rather than
// JSON (Vault, likewise, stores it as a protocol buffer). Every read of a
// secret decodes one, and decoding the JSON form — a map of versions, RFC
// 3339 times, the data copy scanned twice — cost as much as the bolt
// lookup and the decryption together; the binary form decodes in a
// fraction of that, so no cache is needed and a read costs the same in a
// mount of a thousand secrets as in one of a million.
//
// Layout: the format byte, then unsigned varints current, oldest,
// max_versions; a flags byte (bit 0: cas_required); a varint
// delete_version_after in nanoseconds; the created and updated times; the
// custom metadata as a count and length-prefixed key/value pairs; the
// versions as a count and, for each in ascending order, the number, its
// created and deletion times and a destroyed byte; and last the data copy's
// version and length-prefixed bytes. A time is a byte 0 (zero time) or 1
// followed by a varint of Unix seconds and a uvarint of nanoseconds.
// Records written before this form existed are JSON objects and start
// with '{'; both are read, and a record is rewritten in binary at its next
// change.
const metaFormat byte = 1

// errBadMeta reports a metadata record that does not decode. The barrier
// authenticates every record, so this means a bug or a foreign record, not
// an attack; it must still never panic or allocate without bound.
var errBadMeta = errors.New("malformed metadata record")

// encodeMeta returns m's binary record.
func encodeMeta(m *keyMeta) []byte {
	b := make([]byte, 0, 64+len(m.Data)+24*len(m.Versions))
	b = append(b, metaFormat)
	b = binary.AppendUvarint(b, uint64(m.Current))
	b = binary.AppendUvarint(b, uint64(m.Oldest))
	b = binary.AppendUvarint(b, uint64(m.MaxVersions))
	var flags byte
	if m.CASRequired {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, int64(m.DeleteVersionAfter))
	b = appendTime(b, m.Created)
	b = appendTime(b, m.Updated)
	b = binary.AppendUvarint(b, uint64(len(m.Custom)))
	for _, k := range slices.Sorted(maps.Keys(m.Custom)) { // deterministic records
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, []byte(m.Custom[k]))
	}
	b = binary.AppendUvarint(b, uint64(len(m.Versions)))
	for _, n := range slices.Sorted(maps.Keys(m.Versions)) {
		b = appendVersion(b, n, m.Versions[n])
	}
	b = binary.AppendUvarint(b, uint64(m.DataVersion))
	return appendBytes(b, m.Data)
}

func appendVersion(b []byte, n int, v *versionInfo) []byte {
	b = binary.AppendUvarint(b, uint64(n))
	b = appendTime(b, v.Created)
	b = appendTime(b, v.Deletion)
	if v.Destroyed {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendUvarint(binary.AppendVarint(append(b, 1), t.Unix()), uint64(t.Nanosecond()))
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// decodeMeta decodes a metadata record in either form. The data copy of a
// binary record aliases raw.
func decodeMeta(raw []byte) (*keyMeta, error) {
	m := new(keyMeta)
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, m); err != nil {
			return nil, err
		}
	} else if err := decodeBinaryMeta(raw, m); err != nil {
		return nil, err
	}
	if m.Versions == nil {
		m.Versions = make(map[int]*versionInfo)
	}
	return m, nil
}

func decodeBinaryMeta(raw []byte, m *keyMeta) error {
	if len(raw) == 0 || raw[0] != metaFormat {
		return errBadMeta
	}
	r := metaReader{b: raw[1:]}
	m.Current = r.int()
	m.Oldest = r.int()
	m.MaxVersions = r.int()
	m.CASRequired = r.byte()&1 != 0
	m.DeleteVersionAfter = time.Duration(r.varint())
	m.Created = r.time()
	m.Updated = r.time()
	if n := r.count(2); n > 0 {
		m.Custom = make(map[string]string, n)
		for range n {
			k := string(r.bytes())
			m.Custom[k] = string(r.bytes())
		}
	}
	n := r.count(4)
	m.Versions = make(map[int]*versionInfo, n)
	infos := make([]versionInfo, n) // one allocation for all versions
	for i := range infos {
		num := r.int()
		v := &infos[i]
		v.Created = r.time()
		v.Deletion = r.time()
		v.Destroyed = r.byte() != 0
		m.Versions[num] = v
	}
	m.DataVersion = r.int()
	if d := r.bytes(); len(d) > 0 {
		m.Data = d
	}
	if r.err == nil && len(r.b) != 0 {
		return errBadMeta
	}
	return r.err
}

// metaReader reads a binary record; the first error sticks and every
// later read returns zero values.
type metaReader struct {
	b   []byte
	err error
}

func (r *metaReader) fail() {
	r.err, r.b = errBadMeta, nil
}

// next reads one value with decode (binary.Uvarint or binary.Varint).
func next[T uint64 | int64](r *metaReader, decode func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := decode(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *metaReader) uvarint() uint64 { return next(r, binary.Uvarint) }
func (r *metaReader) varint() int64   { return next(r, binary.Varint) }

func (r *metaReader) int() int {
	v := r.uvarint()
	if v > math.MaxInt32 {
		r.fail()
		return 0
	}
	return int(v)
}

// count reads an element count, refusing one that the remaining bytes
// cannot hold at minSize bytes per element, so that a bad count never
// allocates.
func (r *metaReader) count(minSize int) int {
	v := r.uvarint()
	if v > uint64(len(r.b)/minSize) {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *metaReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *metaReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *metaReader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := r.varint()
		if ns := r.uvarint(); ns < 1e9 {
			return time.Unix(sec, int64(ns)).UTC()
		}
	}
	r.fail()
	return time.Time{}
}
