package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sync"
	"time"
)

// SaltSize is the size of the key NewSalt returns.
const SaltSize = 32

// hmacPrefix marks a hashed value, as in Vault.
const hmacPrefix = "hmac-sha256:"

// NewSalt returns a fresh random HMAC key for a new device. The caller
// persists it with the device's configuration (it must survive restarts,
// or hashes in old and new entries stop matching) and passes it to
// NewDevice.
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("audit: generate salt: %w", err)
	}
	return salt, nil
}

// hasher computes identified HMACs with one device's salt. Keyed HMAC states
// are pooled because hmac.New costs several allocations, and the hot path
// hashes every string of every entry.
type hasher struct {
	pool sync.Pool
}

type macState struct {
	mac     hash.Hash
	scratch []byte
	sum     [sha256.Size]byte
}

func newHasher(salt []byte) *hasher {
	key := bytes.Clone(salt)
	h := &hasher{}
	h.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key)} }
	return h
}

// hash returns "hmac-sha256:<hex>" for s, with one allocation.
func (h *hasher) hash(s string) string {
	st := h.acquire()
	var out [len(hmacPrefix) + 2*sha256.Size]byte
	st.appendHash(out[:0], s)
	h.release(st)
	return string(out[:])
}

// acquire takes a keyed HMAC state from the pool; release returns it.
// An encoder holds one for a whole entry.
func (h *hasher) acquire() *macState { return h.pool.Get().(*macState) }

func (h *hasher) release(st *macState) {
	if cap(st.scratch) > 64<<10 {
		st.scratch = nil // don't pin a huge value in the pool
	}
	h.pool.Put(st)
}

// appendHash appends "hmac-sha256:<hex>" for s (unquoted) to b.
func (st *macState) appendHash(b []byte, s string) []byte {
	st.mac.Reset()
	st.scratch = append(st.scratch[:0], s...)
	st.mac.Write(st.scratch)
	sum := st.mac.Sum(st.sum[:0])
	b = append(b, hmacPrefix...)
	return hex.AppendEncode(b, sum)
}

// data returns a copy of m with every string hashed, recursively, except
// the values of the top-level keys in keep.
func (h *hasher) data(m map[string]any, keep []string) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if slices.Contains(keep, k) {
			out[k] = v
			continue
		}
		hv, err := h.value(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = hv
	}
	return out, nil
}

// value hashes the strings inside v. Common shapes are walked directly;
// anything else goes through a JSON round trip so that no string can slip
// out in clear because of its Go type.
func (h *hasher) value(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, json.Number, float64, float32,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		time.Duration:
		return t, nil
	case string:
		return h.hash(t), nil
	case map[string]any:
		return h.data(t, nil)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			hx, err := h.value(x)
			if err != nil {
				return nil, err
			}
			out[i] = hx
		}
		return out, nil
	case []string:
		return h.strings(t), nil
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, s := range t {
			out[k] = h.hash(s)
		}
		return out, nil
	case map[string][]string:
		out := make(map[string][]string, len(t))
		for k, s := range t {
			out[k] = h.strings(s)
		}
		return out, nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode %T for hashing: %w", t, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var generic any
		if err := dec.Decode(&generic); err != nil {
			return nil, fmt.Errorf("decode %T for hashing: %w", t, err)
		}
		return h.value(generic)
	}
}

func (h *hasher) strings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = h.hash(s)
	}
	return out
}
