package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// The encoder must write exactly what encoding/json writes for the entry
// with a hashed copy of its data (formatter.formatStd), byte for byte.

var encodeSalt = bytes.Repeat([]byte{7}, SaltSize)

func testFormatter(t testing.TB, opts map[string]string) *formatter {
	t.Helper()
	f, err := newFormatter(&options{typ: "file", m: opts, used: map[string]bool{}}, encodeSalt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// lines formats in both ways; the errors say whether each failed.
func lines(f *formatter, typ EntryType, in *Input) (std, fast []byte, stdErr, fastErr error) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890, time.UTC)
	var buf bytes.Buffer
	stdErr = f.formatStd(&buf, typ, at, in)
	enc := encoderPool.Get().(*encoder)
	defer func() { enc.reset(); encoderPool.Put(enc) }()
	fastErr = f.format(enc, typ, at, in)
	return buf.Bytes(), bytes.Clone(enc.buf), stdErr, fastErr
}

type point struct{ X, Y int }

type labelled struct {
	Name   string            `json:"name"`
	Tags   []string          `json:"tags,omitempty"`
	Inner  map[string]string `json:"inner"`
	Secret string            `json:"-"`
}

var trickyStrings = []string{
	"",
	"plain",
	`quote " backslash \ slash /`,
	"ctl \x00\x01\x07\x08\x0b\x0c\x1f\x7f",
	"ws \n\r\t",
	"html <script>&amp;</script>",
	"bad utf8 \xff\xfe\xc3 end",
	"truncated \xe2\x82",
	"seps \u2028 \u2029 \u2027 \u202a",
	"emoji 🔑 ünïcödé 日本",
	"\ufffd literal replacement",
}

func trickyData() map[string]any {
	m := map[string]any{
		"nil":       nil,
		"bool":      true,
		"int":       -42,
		"int8":      int8(-8),
		"int16":     int16(16),
		"int32":     int32(-32),
		"int64":     int64(math.MinInt64),
		"uint":      uint(7),
		"uint8":     uint8(255),
		"uint16":    uint16(65535),
		"uint32":    uint32(math.MaxUint32),
		"uint64":    uint64(math.MaxUint64),
		"duration":  time.Minute,
		"float":     3.25,
		"tiny":      1e-7,
		"huge":      1e21,
		"neg zero":  math.Copysign(0, -1),
		"float32":   float32(0.1),
		"tiny32":    float32(1e-7),
		"number":    json.Number("1.5e+10"),
		"emptynum":  json.Number(""),
		"list":      []any{"a", 1.0, nil, []any{"deep"}, map[string]any{"k": "v"}},
		"nil list":  []any(nil),
		"strings":   []string{"x", "y"},
		"nil strs":  []string(nil),
		"smap":      map[string]string{"b": "2", "a": "1"},
		"nil smap":  map[string]string(nil),
		"hdrs":      map[string][]string{"z": {"1"}, "a": nil},
		"nil hdrs":  map[string][]string(nil),
		"nil map":   map[string]any(nil),
		"maps":      []map[string]any{{"s": "v", "n": 1, "l": []any(nil), "m": map[string]string(nil)}, nil},
		"nil maps":  []map[string]any(nil),
		"bad maps":  []map[string]any{{"k\xff": "v", "k\xfe": "w"}},
		"bytes":     []byte("raw <bytes>"),
		"struct":    point{1, 2},
		"labelled":  &labelled{Name: "n<>", Inner: map[string]string{"i": "\xff"}, Secret: "never"},
		"nested":    map[string]any{"z": map[string]any{"y": []any{"x", json.Number("7")}}},
		"k\xffbad":  "value under an invalid key",
		"\u2028key": "value under a separator key",
	}
	for i, s := range trickyStrings {
		m["s"+string(rune('a'+i))] = s
		m[s] = i
	}
	return m
}

func encodeInput() *Input {
	return &Input{
		Request: &logical.Request{
			ID: "req-1", Operation: logical.UpdateOperation, Path: "secret/data/\u2028<p>",
			Data:        trickyData(),
			ClientToken: "hvs.token",
			Headers:     map[string][]string{"X-Request-Id": {"abc", "d\"ef"}, "X-Hashed": {"h"}, "X-Vault-Token": {"t"}},
			Connection:  &logical.Connection{RemoteAddr: "[::1]:8200"},
			MountPoint:  "secret/", MountType: "kv", MountAccessor: "kv_1",
			WrapTTL: time.Minute,
		},
		Response: &logical.Response{
			Data: trickyData(),
			Auth: &logical.Auth{
				ClientToken: "hvs.new", Accessor: "acc", Policies: []string{"default"},
				Metadata: map[string]string{"user": "bob\n", "a": "b"}, NumUses: 3, LeaseDuration: 60,
			},
			Secret:   &logical.Secret{LeaseID: "lease/1"},
			WrapInfo: &logical.WrapInfo{Token: "wrap", TTL: 30, CreationTime: time.Unix(1e9, 5), CreationPath: "p", WrappedAccessor: "wa"},
			Warnings: []string{"warn \xff"},
		},
		Auth: &AuthInfo{
			ClientToken: "hvs.token", Accessor: "acc", DisplayName: "token <root>",
			Policies: []string{"root"}, TokenPolicies: []string{"root"},
			Metadata: map[string]string{"z": "1", "a": "2"}, EntityID: "e", TokenType: "service",
			TokenTTL: time.Hour, TokenIssueTime: time.Unix(1e9, 0), RemainingUses: 2,
		},
		AuditedHeaders: map[string]bool{"x-request-id": false, "x-hashed": true},
	}
}

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	inputs := map[string]func() *Input{
		"everything": encodeInput,
		"empty request": func() *Input {
			return &Input{Request: &logical.Request{}}
		},
		"denied with empty data": func() *Input {
			in := encodeInput()
			in.Request.Data = map[string]any{}
			in.Response = nil
			in.Err = logical.ErrPermissionDenied
			return in
		},
		"auth from request token": func() *Input {
			in := encodeInput()
			in.Auth = nil
			in.Request.Token = &logical.TokenInfo{Accessor: "acc", Policies: []string{"p"}, Meta: map[string]string{"m": "v"}}
			return in
		},
		"raw response body": func() *Input {
			in := encodeInput()
			in.Response = &logical.Response{Raw: map[string]any{"body": "<raw>"}}
			return in
		},
		"non-HMAC keys": func() *Input {
			in := encodeInput()
			in.NonHMACRequestKeys = []string{"list", "sa", "struct", "missing"}
			in.NonHMACResponseKeys = []string{"maps", "bytes"}
			return in
		},
	}
	devices := map[string]map[string]string{
		"default":             nil,
		"log_raw":             {"log_raw": "true"},
		"hmac_accessor=false": {"hmac_accessor": "false"},
		"prefix":              {"prefix": "@cee: "},
	}
	for inName, mk := range inputs {
		for devName, opts := range devices {
			for _, typ := range []EntryType{TypeRequest, TypeResponse} {
				t.Run(inName+"/"+devName+"/"+string(typ), func(t *testing.T) {
					std, fast, stdErr, fastErr := lines(testFormatter(t, opts), typ, mk())
					if stdErr != nil || fastErr != nil {
						t.Fatalf("encoding/json: %v; encoder: %v", stdErr, fastErr)
					}
					if !bytes.Equal(std, fast) {
						t.Errorf("lines differ:\nencoding/json %s\nencoder       %s", std, fast)
					}
				})
			}
		}
	}
}

func TestEncoderErrorsLikeEncodingJSON(t *testing.T) {
	values := map[string]any{
		"NaN":            math.NaN(),
		"+Inf":           math.Inf(1),
		"float32 -Inf":   float32(math.Inf(-1)),
		"invalid number": json.Number("1.2.3"),
		"nested NaN":     []any{map[string]any{"x": math.NaN()}},
		"NaN in maps":    []map[string]any{{"x": math.NaN()}},
		"channel":        make(chan int),
	}
	for name, v := range values {
		for _, raw := range []string{"false", "true"} {
			t.Run(name+"/log_raw="+raw, func(t *testing.T) {
				in := &Input{Request: &logical.Request{Data: map[string]any{"v": v}}}
				_, _, stdErr, fastErr := lines(testFormatter(t, map[string]string{"log_raw": raw}), TypeRequest, in)
				if stdErr == nil || fastErr == nil {
					t.Errorf("encoding/json error %v, encoder error %v: want both to fail", stdErr, fastErr)
				}
			})
		}
	}
}

func TestValidNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-12", "1.5", "0.0", "1e5", "1E+5", "-1.25e-10", "1", "123456789012345678901234567890",
		"", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x10", "NaN", "1 ", " 1", "--1", "1.2.3", "1e5e5"} {
		err := json.Unmarshal([]byte(`{"n":`+s+`}`), new(map[string]any))
		want := err == nil && strings.TrimSpace(s) == s
		if got := validNumber(s); got != want {
			t.Errorf("validNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzEncoder builds random data maps from the fuzzer's bytes and requires
// the encoder and encoding/json to agree, hashed and in clear.
func FuzzEncoder(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte{0x07, 3, 'a', 0xff, 'b', 0x08, 0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 1, 0xe2, 0x80, 0xa8})
	f.Add([]byte("\x09\x09\x09\x01x\x02\x03\x04\x05\x0a\x0b"))
	hashedF, rawF := testFormatter(f, nil), testFormatter(f, map[string]string{"log_raw": "true"})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{b: data}
		m := g.dataMap(0)
		for name, fm := range map[string]*formatter{"hashed": hashedF, "raw": rawF} {
			in := &Input{Request: &logical.Request{Data: m}, NonHMACRequestKeys: []string{"k0"}}
			std, fast, stdErr, fastErr := lines(fm, TypeRequest, in)
			if (stdErr == nil) != (fastErr == nil) {
				t.Fatalf("%s: encoding/json error %v, encoder error %v", name, stdErr, fastErr)
			}
			if stdErr != nil {
				continue
			}
			var a, b any
			if err := json.Unmarshal(std, &a); err != nil {
				t.Fatalf("%s: encoding/json line: %v", name, err)
			}
			if err := json.Unmarshal(fast, &b); err != nil {
				t.Fatalf("%s: encoder line is not JSON: %v\n%s", name, err, fast)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: decoded lines differ:\nencoding/json %s\nencoder       %s", name, std, fast)
			}
			if !bytes.Equal(std, fast) {
				t.Fatalf("%s: lines differ:\nencoding/json %s\nencoder       %s", name, std, fast)
			}
		}
	})
}

// gen turns bytes into Go values of the shapes engines put in data.
type gen struct{ b []byte }

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) str() string {
	n := int(g.byte() % 12)
	n = min(n, len(g.b))
	s := string(g.b[:n])
	g.b = g.b[n:]
	return s
}

func (g *gen) u64() uint64 {
	var x [8]byte
	n := copy(x[:], g.b)
	g.b = g.b[n:]
	return binary.LittleEndian.Uint64(x[:])
}

var fuzzNumbers = []json.Number{"", "0", "-1.5e-7", "12345678901234567890", "1.0", "01", "1e", "abc"}

func (g *gen) dataMap(depth int) map[string]any {
	n := int(g.byte() % 5)
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k := g.str()
		if g.byte()%4 == 0 {
			k = "k0" // a non-HMAC key
		}
		m[k] = g.value(depth + 1)
	}
	return m
}

func (g *gen) value(depth int) any {
	kind := g.byte()
	if depth > 4 && kind%24 >= 9 {
		kind = 1
	}
	switch kind % 24 {
	case 0:
		return nil
	case 1:
		return g.str()
	case 2:
		return g.byte()%2 == 0
	case 3:
		return math.Float64frombits(g.u64())
	case 4:
		return float32(math.Float64frombits(g.u64()))
	case 5:
		return int64(g.u64())
	case 6:
		return uint16(g.u64())
	case 7:
		return fuzzNumbers[int(g.byte())%len(fuzzNumbers)]
	case 8:
		return time.Duration(g.u64())
	case 9:
		return g.dataMap(depth)
	case 10:
		n := int(g.byte() % 4)
		l := make([]any, n)
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	case 11:
		return []string{g.str(), g.str()}
	case 12:
		return map[string]string{g.str(): g.str(), g.str(): g.str()}
	case 13:
		return map[string][]string{g.str(): {g.str()}, g.str(): nil}
	case 14:
		return []map[string]any{g.dataMap(depth), nil}
	case 15:
		return []byte(g.str())
	case 16:
		return labelled{Name: g.str(), Tags: []string{g.str()}, Inner: map[string]string{g.str(): g.str()}}
	case 17:
		return []any(nil)
	case 18:
		return map[string]string(nil)
	case 19:
		return map[string]any(nil)
	case 20:
		return []string(nil)
	case 21:
		return map[string][]string(nil)
	case 22:
		return []map[string]any(nil)
	default:
		return float64(int32(g.u64())) / 8
	}
}

func TestEncoderDropsReferences(t *testing.T) {
	f := testFormatter(t, nil)
	enc := new(encoder)
	if err := f.format(enc, TypeResponse, time.Now(), encodeInput()); err != nil {
		t.Fatal(err)
	}
	enc.reset()
	if !reflect.DeepEqual(enc.parts, entryParts{}) || enc.mac != nil || enc.h != nil || len(enc.buf) != 0 {
		t.Errorf("reset left references to the last entry")
	}
	for _, k := range enc.keys[:cap(enc.keys)] {
		if k != "" {
			t.Fatalf("reset left key %q on the key stack", k)
		}
	}
}

// BenchmarkFormat measures formatting alone (no sink), for a KV v2 read
// response, through the encoder and through encoding/json.
func BenchmarkFormat(b *testing.B) {
	f := testFormatter(b, nil)
	in := &Input{
		Request: &logical.Request{ID: "req", Operation: logical.ReadOperation, Path: "secret/data/k1", ClientToken: "hvs.root", MountPoint: "secret/", MountType: "kv", MountAccessor: "kv_1"},
		Response: &logical.Response{Data: map[string]any{
			"data":     map[string]any{"password": "value-1", "user": "app"},
			"metadata": map[string]any{"created_time": "2025-03-04T05:06:07.89Z", "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": 1},
		}},
		Auth: &AuthInfo{ClientToken: "hvs.root", Accessor: "acc", DisplayName: "root", Policies: []string{"root"}, TokenPolicies: []string{"root"}, TokenType: "service"},
	}
	at := time.Now()
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc := encoderPool.Get().(*encoder)
			if err := f.format(enc, TypeResponse, at, in); err != nil {
				b.Fatal(err)
			}
			enc.reset()
			encoderPool.Put(enc)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := f.formatStd(&buf, TypeResponse, at, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
