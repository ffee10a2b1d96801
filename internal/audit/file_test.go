package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
)

func TestNewDeviceRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "innocent")
	if err := os.Symlink(dataDir, link); err != nil {
		t.Fatal(err)
	}
	ok := filepath.Join(dir, "audit.log")
	tests := []struct {
		name string
		typ  string
		opts map[string]string
		salt []byte
	}{
		{"unknown type", "kafka", map[string]string{}, nil},
		{"file without file_path", "file", map[string]string{}, nil},
		{"mode not octal", "file", map[string]string{"file_path": ok, "mode": "rw-r--r--"}, nil},
		{"mode out of range", "file", map[string]string{"file_path": ok, "mode": "7777"}, nil},
		{"mode world-writable", "file", map[string]string{"file_path": ok, "mode": "0666"}, nil},
		{"path with ..", "file", map[string]string{"file_path": dir + "/logs/../audit.log"}, nil},
		{"path inside data dir", "file", map[string]string{"file_path": filepath.Join(dataDir, "audit.log")}, nil},
		{"data dir itself", "file", map[string]string{"file_path": dataDir}, nil},
		{"symlink into data dir", "file", map[string]string{"file_path": filepath.Join(link, "sub", "audit.log")}, nil},
		{"bad format", "file", map[string]string{"file_path": ok, "format": "yaml"}, nil},
		{"bad log_raw", "file", map[string]string{"file_path": ok, "log_raw": "perhaps"}, nil},
		{"bad hmac_accessor", "file", map[string]string{"file_path": ok, "hmac_accessor": "2"}, nil},
		{"bad rotate_max_bytes", "file", map[string]string{"file_path": ok, "rotate_max_bytes": "-1"}, nil},
		{"rotate without kept files", "file", map[string]string{"file_path": ok, "rotate_max_bytes": "100", "rotate_max_files": "0"}, nil},
		{"misspelt option", "file", map[string]string{"file_path": ok, "log_rwa": "true"}, nil},
		{"short salt", "file", map[string]string{"file_path": ok}, []byte("short")},
		{"socket without address", "socket", map[string]string{}, nil},
		{"socket bad type", "socket", map[string]string{"address": "127.0.0.1:1", "socket_type": "sctp"}, nil},
		{"socket bad timeout", "socket", map[string]string{"address": "127.0.0.1:1", "write_timeout": "soon"}, nil},
		{"syslog bad facility", "syslog", map[string]string{"facility": "NOPE"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			salt := tt.salt
			if salt == nil {
				salt = testSalt(t)
			}
			d, err := audit.NewDevice(tt.typ, tt.opts, salt, dataDir)
			if err == nil {
				d.Close()
				t.Fatal("NewDevice succeeded, want an error")
			}
			if !errors.Is(err, audit.ErrInvalidOptions) {
				t.Errorf("error %v does not wrap ErrInvalidOptions", err)
			}
		})
	}
	if _, err := os.Stat(ok); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused device left %s behind", ok)
	}
}

func TestFileModeIsEnforced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := audit.NewDevice("file", map[string]string{"file_path": path, "mode": "0640"}, testSalt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("mode = %o, want 0640", got)
	}
}

func TestFileRotationKeepsMaxFiles(t *testing.T) {
	d, path := newFile(t, map[string]string{"rotate_max_bytes": "2048", "rotate_max_files": "2"})
	for range 40 {
		logBoth(t, d, fullInput())
	}
	for _, name := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(name), err)
		}
		if fi.Size() > 2048 {
			t.Errorf("%s has %d bytes, over rotate_max_bytes", filepath.Base(name), fi.Size())
		}
		entries(t, name) // every file holds whole lines
	}
	if _, err := os.Stat(path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.3 exists; only 2 rotated files should be kept", filepath.Base(path))
	}
}

func TestReopenAfterLogrotate(t *testing.T) {
	d, path := newFile(t, nil)
	logBoth(t, d, fullInput())
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := d.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	logBoth(t, d, fullInput())
	if n := len(entries(t, path)); n != 2 {
		t.Errorf("new file has %d entries, want 2", n)
	}
	if n := len(entries(t, path+".old")); n != 2 {
		t.Errorf("rotated file has %d entries, want 2", n)
	}
}

func TestSpecialFilePaths(t *testing.T) {
	for _, p := range []string{"discard", "stdout"} {
		t.Run(p, func(t *testing.T) {
			d, err := audit.NewDevice("file", map[string]string{"file_path": p}, testSalt(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if p == "discard" { // keep test output clean
				logBoth(t, d, fullInput())
			}
			if err := d.Reopen(); err != nil {
				t.Errorf("Reopen: %v", err)
			}
		})
	}
}

func TestLogAfterCloseFails(t *testing.T) {
	d, _ := newFile(t, nil)
	d.Close()
	err := d.Log(context.Background(), audit.TypeRequest, time.Now(), fullInput())
	if !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentLogging(t *testing.T) {
	d, path := newFile(t, map[string]string{"rotate_max_bytes": "1000000"})
	b := audit.NewBroker(nil)
	if err := b.Enable(context.Background(), "file/", d); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				in := fullInput()
				in.Request.ID = fmt.Sprintf("req-%d-%d", w, i)
				if err := b.LogRequest(context.Background(), in); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[any]bool{}
	for _, e := range entries(t, path) {
		seen[field(e, "request", "id")] = true
	}
	if len(seen) != workers*each {
		t.Errorf("got %d distinct whole entries, want %d", len(seen), workers*each)
	}
}

func BenchmarkFileDeviceLog(b *testing.B) {
	d, _ := newFile(b, nil)
	in := fullInput()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Log(ctx, audit.TypeResponse, time.Now(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileDeviceLogParallel(b *testing.B) {
	d, _ := newFile(b, nil)
	in := fullInput()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := d.Log(ctx, audit.TypeRequest, time.Now(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
