package raft

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func entryCommands() map[string]command {
	return map[string]command{
		"empty":       {},
		"put":         {Ops: []op{{Key: "logical/x/a", Value: []byte("ciphertext\x00\xff")}}},
		"delete":      {Ops: []op{{Key: "k", Delete: true}}},
		"empty value": {Ops: []op{{Key: "k"}}},
		"checks": {
			Checks: []check{{Key: "a", Sum: make([]byte, 32)}, {Key: "p/", List: true, Sum: []byte{1, 2}}, {Key: "absent"}},
			Ops:    []op{{Key: "a", Value: []byte("1")}, {Key: "b", Delete: true}},
		},
		"ha":        {HA: &haValue{NodeID: "n1", Value: "https://n1:8200"}},
		"autopilot": {Autopilot: &AutopilotConfig{CleanupDeadServers: true, LastContactThreshold: 10 * time.Second}},
		"group": {Group: []command{
			{Ops: []op{{Key: "a", Value: []byte("1")}}},
			{Checks: []check{{Key: "a"}}, Ops: []op{{Key: "a", Value: []byte("2")}}},
			{HA: &haValue{NodeID: "n2", Value: "v"}},
		}},
	}
}

// TestEntryRoundTrip: binary entries decode to what was encoded, and JSON
// entries written by earlier builds still decode.
func TestEntryRoundTrip(t *testing.T) {
	for name, c := range entryCommands() {
		t.Run(name, func(t *testing.T) {
			data, err := encodeEntry(&c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEntry(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("binary round trip:\n got %#v\nwant %#v", got, c)
			}
			old, err := json.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			got, err = decodeEntry(old)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("JSON entry:\n got %#v\nwant %#v", got, c)
			}
		})
	}
}

func TestEntryRefusesMalformed(t *testing.T) {
	good, err := encodeEntry(&command{Ops: []op{{Key: "k", Value: []byte("value")}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":           {},
		"unknown version": {0x02, 0, 0, 0},
		"truncated":       good[:len(good)-2],
		"trailing":        append(append([]byte{}, good...), 0),
		"bad flags":       {entryV1, 0x40, 0, 0},
		"huge count":      {entryV1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad bool":        {entryV1, 0, 0, 1, 1, 'k', 7, 0},
		"nested group":    {entryV1, flagGroup, 0, 0, 1, flagGroup, 0, 0, 0},
		"bad HA JSON":     {entryV1, flagHA, 0, 0, 1, '{'},
		"field past end":  {entryV1, 0, 0, 1, 5, 'k', 0, 0},
		"group with ops":  {entryV1, flagGroup, 0, 1, 1, 'k', 0, 0, 0},
		"group with HA":   {entryV1, flagGroup | flagHA, 0, 0, 2, '{', '}', 0},
		"long varint":     {entryV1, 0x80, 0x00, 0, 0},
		"bad varint":      {entryV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"malformed JSON":  []byte(`{"o":[`),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeEntry(data); err == nil {
				t.Fatal("decoded")
			}
		})
	}
	if _, err := encodeEntry(&command{Group: []command{{Group: []command{{}}}}}); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("nested group encoded: %v", err)
	}
	if _, err := encodeEntry(&command{Group: []command{{}}, Ops: []op{{Key: "k"}}}); err == nil {
		t.Fatal("group with ops of its own encoded")
	}
}

// FuzzDecodeEntry: no input panics the decoder, and whatever decodes from
// the binary form encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for _, c := range entryCommands() {
		data, err := encodeEntry(&c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		old, _ := json.Marshal(&c)
		f.Add(old)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeEntry(data)
		if err != nil || data[0] != entryV1 || c.HA != nil || c.Autopilot != nil || hasJSON(c.Group) {
			return // JSON fields need not re-encode byte for byte
		}
		again, err := encodeEntry(&c)
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it: %v", data, err)
		}
		if string(again) != string(data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, again)
		}
	})
}

func hasJSON(group []command) bool {
	for _, c := range group {
		if c.HA != nil || c.Autopilot != nil {
			return true
		}
	}
	return false
}

// typicalGroup is a grouped entry as KV v2 writes make it: sixteen
// transactions, each checking and writing a metadata and a version key
// (barrier ciphertext of about 400 bytes).
func typicalGroup() *command {
	c := &command{Group: make([]command, 16)}
	for i := range c.Group {
		meta := fmt.Sprintf("logical/5b7c1f0e-2f4d-4d3e-9a51-0c3f6e2b7a19/metadata/app/secret-%03d", i)
		version := fmt.Sprintf("logical/5b7c1f0e-2f4d-4d3e-9a51-0c3f6e2b7a19/versions/app/secret-%03d/7", i)
		c.Group[i] = command{
			Checks: []check{{Key: meta, Sum: make([]byte, 32)}, {Key: version}},
			Ops:    []op{{Key: meta, Value: make([]byte, 180)}, {Key: version, Value: make([]byte, 420)}},
		}
	}
	return c
}

// BenchmarkEntry encodes and decodes a typical grouped entry: the leader
// encodes it once, every node decodes it.
func BenchmarkEntry(b *testing.B) {
	c := typicalGroup()
	codecs := map[string]struct {
		enc func(*command) ([]byte, error)
	}{
		"binary": {enc: encodeEntry},
		"json":   {enc: func(c *command) ([]byte, error) { return json.Marshal(c) }},
	}
	for name, codec := range codecs {
		b.Run(name, func(b *testing.B) {
			size := 0
			for b.Loop() {
				data, err := codec.enc(c)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := decodeEntry(data); err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size), "entry-bytes")
		})
	}
}
