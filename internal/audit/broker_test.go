package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
)

// stubDevice records entries in memory or fails every write.
type stubDevice struct {
	fail    bool
	logged  int
	closed  bool
	reopens int
}

func (s *stubDevice) Log(_ context.Context, _ audit.EntryType, _ time.Time, _ *audit.Input) error {
	if s.fail {
		return errors.New("disk on fire")
	}
	s.logged++
	return nil
}
func (s *stubDevice) Hash(v string) string { return "stub:" + v }
func (s *stubDevice) Reopen() error        { s.reopens++; return nil }
func (s *stubDevice) Close() error         { s.closed = true; return nil }

func TestBrokerFailsClosed(t *testing.T) {
	tests := []struct {
		name    string
		devices []*stubDevice
		wantErr bool
	}{
		{"no device", nil, false},
		{"one working device", []*stubDevice{{}}, false},
		{"one failing device", []*stubDevice{{fail: true}}, true},
		{"one of two failing", []*stubDevice{{fail: true}, {}}, false},
		{"both failing", []*stubDevice{{fail: true}, {fail: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			b := audit.NewBroker(slog.New(slog.NewTextHandler(&logs, nil)))
			for i, d := range tt.devices {
				if err := b.Enable(context.Background(), string(rune('a'+i))+"/", d); err != nil {
					t.Fatal(err)
				}
			}
			for _, call := range []func(context.Context, *audit.Input) error{b.LogRequest, b.LogResponse} {
				err := call(context.Background(), fullInput())
				if (err != nil) != tt.wantErr {
					t.Errorf("error = %v, want error: %v", err, tt.wantErr)
				}
				if err != nil && !errors.Is(err, audit.ErrNotRecorded) {
					t.Errorf("error %v does not wrap ErrNotRecorded", err)
				}
			}
			for _, c := range canaries {
				if strings.Contains(logs.String(), c) {
					t.Errorf("server log holds %q", c)
				}
			}
			for _, d := range tt.devices {
				if d.fail && !strings.Contains(logs.String(), "disk on fire") {
					t.Errorf("device failure not logged")
				}
			}
		})
	}
}

func TestBrokerFailsClosedOnUnwritableFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	bad, err := audit.NewDevice("file", map[string]string{"file_path": filepath.Join(dir, "audit.log")}, testSalt(t))
	if err != nil {
		t.Fatal(err)
	}
	good, goodPath := newFile(t, nil)
	b := audit.NewBroker(nil)
	defer b.Close()
	ctx := context.Background()
	if err := b.Enable(ctx, "bad/", bad); err != nil {
		t.Fatal(err)
	}
	// The log directory becomes a plain file: unlike a chmod, this stops
	// root too.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Reopen(); err == nil {
		t.Error("Reopen of an unreachable file succeeded")
	}
	if err := b.LogRequest(ctx, fullInput()); !errors.Is(err, audit.ErrNotRecorded) {
		t.Errorf("with the only device broken: LogRequest = %v, want ErrNotRecorded", err)
	}
	if err := b.Enable(ctx, "good/", good); err != nil {
		t.Fatal(err)
	}
	if err := b.LogRequest(ctx, fullInput()); err != nil {
		t.Errorf("with one working device: LogRequest = %v, want nil", err)
	}
	if n := len(entries(t, goodPath)); n != 1 {
		t.Errorf("working device has %d entries, want 1", n)
	}
	// The file comes back: the broken device recovers on its next write.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Disable("good/"); err != nil {
		t.Fatal(err)
	}
	if err := b.LogRequest(ctx, fullInput()); err != nil {
		t.Errorf("after repair: LogRequest = %v, want nil", err)
	}
}

func TestBrokerDeviceTable(t *testing.T) {
	ctx := context.Background()
	b := audit.NewBroker(nil)
	if b.Enabled() {
		t.Error("new broker reports devices enabled")
	}
	file, path := newFile(t, map[string]string{"log_raw": "false"})
	stub := &stubDevice{}
	if err := b.Enable(ctx, "zz/", stub); err != nil {
		t.Fatal(err)
	}
	if err := b.Enable(ctx, "file/", file); err != nil {
		t.Fatal(err)
	}
	if err := b.Enable(ctx, "file/", &stubDevice{}); !errors.Is(err, audit.ErrExists) {
		t.Errorf("second Enable at file/ = %v, want ErrExists", err)
	}
	if !b.Enabled() {
		t.Error("Enabled = false with two devices")
	}
	list := b.List()
	if len(list) != 2 || list[0].Name != "file/" || list[0].Type != "file" ||
		list[0].Options["file_path"] != path || list[1].Name != "zz/" {
		t.Errorf("List = %+v", list)
	}

	got, err := b.Hash("file/", canarySecret)
	if err != nil || got != file.Hash(canarySecret) || !strings.HasPrefix(got, "hmac-sha256:") || len(got) != 12+64 {
		t.Errorf("Hash = %q, %v", got, err)
	}
	if _, err := b.Hash("nope/", "x"); !errors.Is(err, audit.ErrNoDevice) {
		t.Errorf("Hash on unknown device = %v, want ErrNoDevice", err)
	}

	if err := b.Reopen(); err != nil || stub.reopens != 1 {
		t.Errorf("Reopen = %v, stub reopened %d times", err, stub.reopens)
	}
	if err := b.Disable("zz/"); err != nil || !stub.closed {
		t.Errorf("Disable = %v, closed = %v", err, stub.closed)
	}
	if err := b.Disable("zz/"); !errors.Is(err, audit.ErrNoDevice) {
		t.Errorf("second Disable = %v, want ErrNoDevice", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Enabled() {
		t.Error("devices still enabled after Close")
	}
	if err := b.LogRequest(ctx, fullInput()); err != nil {
		t.Errorf("LogRequest with no devices = %v, want nil", err)
	}
}

func TestHashIsStablePerSalt(t *testing.T) {
	salt := testSalt(t)
	a, _ := audit.NewDevice("file", map[string]string{"file_path": "discard"}, salt)
	b, _ := audit.NewDevice("file", map[string]string{"file_path": "discard"}, salt)
	c, _ := audit.NewDevice("file", map[string]string{"file_path": "discard"}, testSalt(t))
	if a.Hash("x") != b.Hash("x") {
		t.Error("same salt, different hashes: hashes would not survive a restart")
	}
	if a.Hash("x") == c.Hash("x") {
		t.Error("different salts, same hash")
	}
}
