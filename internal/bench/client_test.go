package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
)

func TestPrepareURL(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:8200/", "tok", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path, want string
	}{
		"plain path":             {"sys/health", "http://127.0.0.1:8200/v1/sys/health"},
		"trailing slash kept":    {"kv/metadata/bench/", "http://127.0.0.1:8200/v1/kv/metadata/bench/"},
		"query split off":        {"kv/metadata/bench/?list=true", "http://127.0.0.1:8200/v1/kv/metadata/bench/?list=true"},
		"nested key":             {"bench-1/data/bench/7", "http://127.0.0.1:8200/v1/bench-1/data/bench/7"},
		"auth mount login route": {"auth/bench-1/login/bench", "http://127.0.0.1:8200/v1/auth/bench-1/login/bench"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := c.Prepare("GET", tc.path, nil)
			if got := r.tmpl.URL.String(); got != tc.want {
				t.Errorf("URL = %s, want %s", got, tc.want)
			}
			if got := r.tmpl.Header.Get("X-Vault-Token"); got != "tok" {
				t.Errorf("token header = %q", got)
			}
		})
	}
	if h := c.WithToken("").Prepare("GET", "sys/health", nil).tmpl.Header; h.Get("X-Vault-Token") != "" {
		t.Error("WithToken(\"\") still sends a token")
	}
}

// cannedServer answers every HTTP/1.1 request on a keep-alive connection
// with the same bytes, allocating next to nothing, so that a benchmark's
// allocations are the client's.
func cannedServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	const resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"data\":{\"value\":\"x\"}}"
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					n := 0
					for {
						line, err := r.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
						if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
							n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
						}
					}
					if _, err := r.Discard(n); err != nil {
						return
					}
					if _, err := io.WriteString(conn, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// BenchmarkSend measures the client's own cost per request against a
// server that does nothing: what the tool spends that the server does not.
func BenchmarkSend(b *testing.B) {
	c, err := NewClient(cannedServer(b), "tok", nil, 8)
	if err != nil {
		b.Fatal(err)
	}
	for name, body := range map[string][]byte{"get": nil, "post": []byte(`{"data":{"value":"abc"}}`)} {
		b.Run(name, func(b *testing.B) {
			req := c.Prepare("POST", "kv/data/k", body)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if status, err := c.Send(b.Context(), req); err != nil || status != 200 {
						b.Fatalf("status %d, err %v", status, err)
					}
				}
			})
		})
	}
}
