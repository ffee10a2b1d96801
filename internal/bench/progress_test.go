package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	live := new(counters)
	live.requests.Store(500)
	live.errors.Store(3)
	stop, done := make(chan struct{}), make(chan struct{})
	go progress(&buf, "kv-read", 10*time.Second, live, stop, done)
	time.Sleep(600 * time.Millisecond) // one tick
	close(stop)
	<-done
	out := buf.String()
	for _, want := range []string{"\r\x1b[K", "kv-read", "/10s", "500 requests", "3 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("progress line not erased at the end: %q", out)
	}
	if isTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}
