package audit_test

import (
	"bufio"
	"encoding/json"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
)

func TestSocketDevice(t *testing.T) {
	tests := []struct {
		name    string
		network string
		address func(t *testing.T) string
	}{
		{"tcp", "tcp", func(*testing.T) string { return "127.0.0.1:0" }},
		{"unix", "unix", func(t *testing.T) string { return filepath.Join(t.TempDir(), "audit.sock") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen(tt.network, tt.address(t))
			if err != nil {
				t.Skipf("cannot listen on %s: %v", tt.network, err)
			}
			defer ln.Close()
			lines := make(chan []byte, 4)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					lines <- append([]byte(nil), sc.Bytes()...)
				}
			}()
			d, err := audit.NewDevice("socket", map[string]string{
				"address": ln.Addr().String(), "socket_type": tt.network, "write_timeout": "1s",
			}, testSalt(t))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			logBoth(t, d, fullInput())
			for _, want := range []string{"request", "response"} {
				select {
				case line := <-lines:
					var e map[string]any
					if err := json.Unmarshal(line, &e); err != nil {
						t.Fatalf("received %q: %v", line, err)
					}
					if e["type"] != want || field(e, "request", "client_token") != d.Hash(canaryToken) {
						t.Errorf("received entry type %v, client_token %v", e["type"], field(e, "request", "client_token"))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no %s entry received", want)
				}
			}
		})
	}
}

func TestSocketDeviceUnreachableFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	d, err := audit.NewDevice("socket", map[string]string{"address": addr, "write_timeout": "500ms"}, testSalt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := fullInput()
	if err := d.Log(t.Context(), audit.TypeRequest, time.Now(), in); err == nil {
		t.Error("Log to a closed port succeeded")
	}
}
