package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/parse"
)

// Device records audit entries somewhere. Implementations must be safe for
// concurrent use.
type Device interface {
	// Log records one entry of type typ for in, stamped at. It returns
	// only once the entry has been handed to the sink (written to the
	// file, sent on the socket); an error means it was not recorded. The
	// error must not contain the entry.
	Log(ctx context.Context, typ EntryType, at time.Time, in *Input) error
	// Hash returns value as this device's entries would show it hashed.
	Hash(value string) string
	// Reopen closes and reopens the device's sink (a no-op for sinks
	// that hold nothing open).
	Reopen() error
	// Close releases the sink. Log fails after Close.
	Close() error
}

// Describer is implemented by devices that can say what they are, for
// Broker.List. Every device NewDevice returns implements it.
type Describer interface {
	// Type is the device type ("file", "socket", "syslog").
	Type() string
	// Options are the options the device was created with.
	Options() map[string]string
}

// sink is where a device's formatted lines go.
type sink interface {
	// write records one complete line with a single write.
	write(line []byte) error
	// reopen (re)opens whatever the sink holds open; NewDevice calls it
	// once before the first write.
	reopen() error
	close() error
}

// NewDevice builds a device of type typ ("file", "socket" or "syslog")
// from its options, hashing with salt (see NewSalt). A file device whose
// file_path lies inside one of forbiddenDirs (the server's data directory)
// is refused. Errors for bad options wrap ErrInvalidOptions.
func NewDevice(typ string, opts map[string]string, salt []byte, forbiddenDirs ...string) (Device, error) {
	o := options{typ: typ, m: opts, used: map[string]bool{}}
	f, err := newFormatter(&o, salt)
	if err != nil {
		return nil, err
	}
	var s sink
	switch typ {
	case "file":
		s, err = newFileSink(&o, forbiddenDirs)
	case "socket":
		s, err = newSocketSink(&o)
	case "syslog":
		s, err = newSyslogSink(&o)
	default:
		return nil, fmt.Errorf("%w: unknown audit device type %q (want file, socket or syslog)", ErrInvalidOptions, typ)
	}
	if err != nil {
		return nil, err
	}
	if err := o.unused(); err != nil {
		return nil, err
	}
	// Open only now that every option is known good, so that a refused
	// device leaves no file behind.
	if err := s.reopen(); err != nil {
		return nil, fmt.Errorf("audit: open %s device: %w", typ, err)
	}
	return &device{typ: typ, opts: maps.Clone(opts), f: f, sink: s}, nil
}

func newFormatter(o *options, salt []byte) (*formatter, error) {
	if len(salt) < 16 {
		return nil, fmt.Errorf("%w: salt must be at least 16 bytes, got %d", ErrInvalidOptions, len(salt))
	}
	raw, err := o.bool("log_raw", false)
	if err != nil {
		return nil, err
	}
	hmacAccessor, err := o.bool("hmac_accessor", true)
	if err != nil {
		return nil, err
	}
	f := &formatter{hasher: newHasher(salt), raw: raw, hmacAccessor: hmacAccessor, prefix: o.string("prefix", "")}
	switch format := o.string("format", "json"); format {
	case "json":
	case "jsonx":
		f.jsonx = true
	default:
		return nil, fmt.Errorf("%w: %s: format %q is not json or jsonx", ErrInvalidOptions, o.typ, format)
	}
	return f, nil
}

// device is a formatter feeding a sink.
type device struct {
	typ  string
	opts map[string]string
	f    *formatter
	sink sink
}

// encoderPool holds line encoders; lines are formatted off-lock so that
// concurrent requests only serialise on the write itself.
var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

func (d *device) Log(_ context.Context, typ EntryType, at time.Time, in *Input) error {
	enc := encoderPool.Get().(*encoder)
	defer func() {
		enc.reset()
		if cap(enc.buf) <= 1<<20 { // let rare huge entries go
			encoderPool.Put(enc)
		}
	}()
	if err := d.f.format(enc, typ, at, in); err != nil {
		return err
	}
	if err := d.sink.write(enc.buf); err != nil {
		return fmt.Errorf("audit: %s device: %w", d.typ, err)
	}
	return nil
}

func (d *device) Hash(value string) string   { return d.f.hasher.hash(value) }
func (d *device) Reopen() error              { return d.sink.reopen() }
func (d *device) Close() error               { return d.sink.close() }
func (d *device) Type() string               { return d.typ }
func (d *device) Options() map[string]string { return maps.Clone(d.opts) }

// options reads a device's string options and remembers which were read,
// so that misspelt ones are refused rather than silently ignored.
type options struct {
	typ  string
	m    map[string]string
	used map[string]bool
}

func (o *options) string(key, def string) string {
	o.used[key] = true
	if v, ok := o.m[key]; ok && v != "" {
		return v
	}
	return def
}

func (o *options) bool(key string, def bool) (bool, error) {
	v := o.string(key, "")
	if v == "" {
		return def, nil
	}
	b, err := parse.Bool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s: %s=%q is not a boolean", ErrInvalidOptions, o.typ, key, v)
	}
	return b, nil
}

func (o *options) int(key string, def int64) (int64, error) {
	v := o.string(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s: %s=%q is not a non-negative integer", ErrInvalidOptions, o.typ, key, v)
	}
	return n, nil
}

func (o *options) duration(key string, def time.Duration) (time.Duration, error) {
	v := o.string(key, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// Vault also accepts plain seconds.
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%w: %s: %s=%q is not a duration", ErrInvalidOptions, o.typ, key, v)
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: %s: %s=%q must be positive", ErrInvalidOptions, o.typ, key, v)
	}
	return d, nil
}

// unused refuses options that no part of the device read.
func (o *options) unused() error {
	var unknown []string
	for k := range o.m {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%w: %s: unknown options %q", ErrInvalidOptions, o.typ, unknown)
}
