package raft

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Log entry encoding. A command was first written as JSON, which turns
// every value (ciphertext) into base64 and is decoded by reflection on
// every node; entries are now binary, behind a version byte. JSON entries
// (they start with '{') are still read, so a log written by an earlier
// build replays unchanged. Earlier builds read neither binary entries nor
// groups: a cluster is upgraded standbys first and the active node last,
// as Vault's upgrade procedure has it, so no node meets an entry it
// cannot read.
//
// Binary, version 1: the byte 0x01, then a command:
//
//	flags            uvarint: 1 HA, 2 Autopilot, 4 Group
//	checks           uvarint count, then each: key, list (one byte 0/1), sum
//	ops              uvarint count, then each: key, delete (one byte 0/1), value
//	HA, Autopilot    when flagged: their JSON (rare, small)
//	group            when flagged: uvarint count, then each a command
//	                 without a group of its own
//
// where key, sum, value and JSON are a uvarint length and that many bytes.
const entryV1 = 0x01

const (
	flagHA = 1 << iota
	flagAutopilot
	flagGroup
)

// encodeEntry is the log entry for c.
func encodeEntry(c *command) ([]byte, error) {
	buf := make([]byte, 1, c.size())
	buf[0] = entryV1
	return appendCommand(buf, c, true)
}

func appendCommand(buf []byte, c *command, top bool) ([]byte, error) {
	var flags uint64
	if c.HA != nil {
		flags |= flagHA
	}
	if c.Autopilot != nil {
		flags |= flagAutopilot
	}
	if c.Group != nil {
		if !top {
			return nil, errors.New("storage/raft: nested command group")
		}
		if flags != 0 || len(c.Checks) != 0 || len(c.Ops) != 0 {
			return nil, errors.New("storage/raft: a command group carries nothing else")
		}
		flags |= flagGroup
	}
	buf = binary.AppendUvarint(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(c.Checks)))
	for _, ch := range c.Checks {
		buf = appendField(buf, []byte(ch.Key))
		buf = append(buf, boolByte(ch.List))
		buf = appendField(buf, ch.Sum)
	}
	buf = binary.AppendUvarint(buf, uint64(len(c.Ops)))
	for _, o := range c.Ops {
		buf = appendField(buf, []byte(o.Key))
		buf = append(buf, boolByte(o.Delete))
		buf = appendField(buf, o.Value)
	}
	var err error
	if c.HA != nil {
		if buf, err = appendJSON(buf, c.HA); err != nil {
			return nil, err
		}
	}
	if c.Autopilot != nil {
		if buf, err = appendJSON(buf, c.Autopilot); err != nil {
			return nil, err
		}
	}
	if c.Group != nil {
		buf = binary.AppendUvarint(buf, uint64(len(c.Group)))
		for i := range c.Group {
			if buf, err = appendCommand(buf, &c.Group[i], false); err != nil {
				return nil, err
			}
		}
	}
	return buf, nil
}

func appendJSON(buf []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendField(buf, raw), nil
}

func appendField(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// decodeEntry reads a log entry written by encodeEntry or, before it, as
// JSON. Values in the result alias data.
func decodeEntry(data []byte) (command, error) {
	var c command
	if len(data) == 0 {
		return c, errors.New("empty entry")
	}
	switch data[0] {
	case '{':
		err := json.Unmarshal(data, &c)
		return c, err
	case entryV1:
		d := decoder{b: data[1:]}
		d.command(&c, true)
		if d.err == nil && len(d.b) != 0 {
			d.fail("trailing bytes")
		}
		return c, d.err
	default:
		return c, fmt.Errorf("unknown entry format 0x%02x", data[0])
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = errors.New("malformed entry: " + what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	// A final byte of zero after others is a longer form of a smaller
	// number: one entry has one encoding.
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an element count, each element taking at least least bytes,
// so a forged count cannot make the decoder allocate beyond the entry.
func (d *decoder) count(least int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/least) {
		d.fail("count beyond the entry")
		return 0
	}
	return int(n)
}

func (d *decoder) field() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("field beyond the entry")
		return nil
	}
	if n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	if len(d.b) == 0 {
		d.fail("truncated")
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	if v > 1 {
		d.fail("bad flag")
	}
	return v == 1
}

func (d *decoder) command(c *command, top bool) {
	flags := d.uvarint()
	if flags&^(flagHA|flagAutopilot|flagGroup) != 0 || (!top && flags&flagGroup != 0) {
		d.fail("bad command flags")
		return
	}
	if n := d.count(3); n > 0 {
		c.Checks = make([]check, n)
		for i := range c.Checks {
			ch := &c.Checks[i]
			ch.Key = string(d.field())
			ch.List = d.bool()
			ch.Sum = d.field()
		}
	}
	if n := d.count(3); n > 0 {
		c.Ops = make([]op, n)
		for i := range c.Ops {
			o := &c.Ops[i]
			o.Key = string(d.field())
			o.Delete = d.bool()
			o.Value = d.field()
		}
	}
	if flags&flagHA != 0 {
		c.HA = new(haValue)
		d.json(c.HA)
	}
	if flags&flagAutopilot != 0 {
		c.Autopilot = new(AutopilotConfig)
		d.json(c.Autopilot)
	}
	if flags&flagGroup != 0 {
		if flags != flagGroup || len(c.Checks) != 0 || len(c.Ops) != 0 {
			d.fail("a command group carries nothing else")
			return
		}
		n := d.count(3)
		c.Group = make([]command, n)
		for i := range c.Group {
			d.command(&c.Group[i], false)
		}
	}
}

func (d *decoder) json(v any) {
	raw := d.field()
	if d.err != nil {
		return
	}
	if err := json.Unmarshal(raw, v); err != nil {
		d.fail("bad JSON field")
	}
}
