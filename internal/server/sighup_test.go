package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGHUPReopensAuditFile is logrotate's way: the audit file is renamed
// away, the server gets SIGHUP, and from then on it writes a new file at the
// configured path, while the renamed one receives nothing more.
func TestSIGHUPReopensAuditFile(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "audit.log")
	rotated := logPath + ".1"
	p := newProc(t, fmt.Sprintf(`
audit "file" "file" {
  options {
    file_path = %q
  }
}
`, logPath))
	p.start()
	c := p.client("")
	initOne(t, c)
	read := func(path string) {
		t.Helper()
		if _, err := c.Logical().Read(path); err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
	}
	read("cubbyhole/before-rotation")
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}
	read("cubbyhole/between-rename-and-hup") // still into the renamed file

	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The server reopens asynchronously: requests are audited into the
	// renamed file until it has. Wait (bounded) for the new file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		read("cubbyhole/waiting-for-reopen")
		if _, err := os.Stat(logPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new audit file at %s 10s after SIGHUP; server output:\n%s", logPath, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	read("cubbyhole/after-reopen")

	old, err := os.ReadFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cubbyhole/before-rotation", "cubbyhole/between-rename-and-hup"} {
		if !strings.Contains(string(old), want) {
			t.Errorf("the rotated file lacks %s", want)
		}
	}
	if strings.Contains(string(old), "cubbyhole/after-reopen") {
		t.Error("the server still writes to the rotated file after SIGHUP")
	}
	if !strings.Contains(string(cur), "cubbyhole/after-reopen") {
		t.Errorf("the new audit file lacks the request made after SIGHUP:\n%s", cur)
	}
	// The process survived the signal.
	if code := healthCode(t, p.addr); code != 200 {
		t.Errorf("sys/health after SIGHUP: %d", code)
	}
}
