package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DeviceInfo describes an enabled device for sys/audit listings.
type DeviceInfo struct {
	Name string
	// Type and Options are empty for devices that are not a Describer.
	Type    string
	Options map[string]string
}

// Broker fans entries out to the enabled devices. It is safe for
// concurrent use; logging takes no lock.
type Broker struct {
	logger *slog.Logger

	mu      sync.Mutex // serialises Enable, Disable, Close
	devices atomic.Pointer[[]namedDevice]
}

type namedDevice struct {
	name string
	dev  Device
}

// NewBroker returns a broker with no devices; a nil logger discards.
func NewBroker(logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{logger: logger}
	b.devices.Store(&[]namedDevice{})
	return b
}

func (b *Broker) snapshot() []namedDevice { return *b.devices.Load() }

// Enable adds d under name (the sys/audit path). It fails with ErrExists
// if the name is taken. The broker owns d from then on and closes it on
// Disable or Close.
func (b *Broker) Enable(ctx context.Context, name string, d Device) error {
	if name == "" {
		return fmt.Errorf("audit: enable: empty device name")
	}
	if d == nil {
		return fmt.Errorf("audit: enable %q: nil device", name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit: enable %q: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.snapshot()
	if slices.ContainsFunc(cur, func(n namedDevice) bool { return n.name == name }) {
		return fmt.Errorf("audit: enable %q: %w", name, ErrExists)
	}
	next := append(slices.Clip(cur), namedDevice{name: name, dev: d})
	slices.SortFunc(next, func(a, b namedDevice) int { return strings.Compare(a.name, b.name) })
	b.devices.Store(&next)
	return nil
}

// Disable removes and closes the device under name, or returns
// ErrNoDevice.
func (b *Broker) Disable(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.snapshot()
	i := slices.IndexFunc(cur, func(n namedDevice) bool { return n.name == name })
	if i < 0 {
		return fmt.Errorf("audit: disable %q: %w", name, ErrNoDevice)
	}
	d := cur[i].dev
	next := slices.Delete(slices.Clone(cur), i, i+1)
	b.devices.Store(&next)
	if err := d.Close(); err != nil {
		return fmt.Errorf("audit: disable %q: close: %w", name, err)
	}
	return nil
}

// List describes the enabled devices, sorted by name.
func (b *Broker) List() []DeviceInfo {
	cur := b.snapshot()
	out := make([]DeviceInfo, 0, len(cur))
	for _, n := range cur {
		info := DeviceInfo{Name: n.name}
		if d, ok := n.dev.(Describer); ok {
			info.Type, info.Options = d.Type(), d.Options()
		}
		out = append(out, info)
	}
	return out
}

// Enabled reports whether any device is enabled.
func (b *Broker) Enabled() bool { return len(b.snapshot()) > 0 }

// LogRequest records in as a request entry on every device. See log for
// the error contract.
func (b *Broker) LogRequest(ctx context.Context, in *Input) error {
	return b.log(ctx, TypeRequest, in)
}

// LogResponse records in as a response entry on every device. See log for
// the error contract.
func (b *Broker) LogResponse(ctx context.Context, in *Input) error {
	return b.log(ctx, TypeResponse, in)
}

// log fails closed: with devices enabled, it returns an error wrapping
// ErrNotRecorded unless at least one of them recorded the entry. Failures
// of the other devices are logged.
func (b *Broker) log(ctx context.Context, typ EntryType, in *Input) error {
	devs := b.snapshot()
	if len(devs) == 0 {
		return nil
	}
	at := time.Now()
	if len(devs) == 1 {
		// The common case: no goroutine, no error slice.
		if err := devs[0].dev.Log(ctx, typ, at, in); err != nil {
			b.report(devs[0].name, typ, err)
			return fmt.Errorf("%w: %w", ErrNotRecorded, err)
		}
		return nil
	}
	// Write to all devices at once so a slow one doesn't add its latency
	// to the others'.
	errs := make([]error, len(devs))
	var wg sync.WaitGroup
	for i, n := range devs {
		wg.Go(func() { errs[i] = n.dev.Log(ctx, typ, at, in) })
	}
	wg.Wait()
	ok := false
	for i, err := range errs {
		if err != nil {
			b.report(devs[i].name, typ, err)
		} else {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: %w", ErrNotRecorded, errors.Join(errs...))
	}
	return nil
}

// report logs a device failure. err comes from the device and never holds
// the entry.
func (b *Broker) report(name string, typ EntryType, err error) {
	b.logger.Error("audit device failed to record entry", "device", name, "type", string(typ), "error", err)
}

// Hash returns value hashed as the device under name would log it
// (sys/audit-hash), or ErrNoDevice.
func (b *Broker) Hash(name, value string) (string, error) {
	for _, n := range b.snapshot() {
		if n.name == name {
			return n.dev.Hash(value), nil
		}
	}
	return "", fmt.Errorf("audit: hash with %q: %w", name, ErrNoDevice)
}

// Reopen reopens every device (on SIGHUP, after logrotate moved the
// files). A device that fails to reopen stays enabled and retries on its
// next write; the errors are joined.
func (b *Broker) Reopen() error {
	var errs []error
	for _, n := range b.snapshot() {
		if err := n.dev.Reopen(); err != nil {
			errs = append(errs, fmt.Errorf("audit: reopen %q: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close disables and closes every device.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, n := range b.snapshot() {
		if err := n.dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit: close %q: %w", n.name, err))
		}
	}
	b.devices.Store(&[]namedDevice{})
	return errors.Join(errs...)
}
