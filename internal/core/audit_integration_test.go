package core_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

func TestAuditFileRecordsWithoutSecrets(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	root := s.Client
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	const canary = "canary-s3cr3t-value-8472"
	if _, err := root.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": canary}); err != nil {
		t.Fatal(err)
	}
	if got, err := root.KVv2("secret").Get(context.Background(), "app"); err != nil || got.Data["password"] != canary {
		t.Fatal(err)
	}
	child, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	denied := clientWith(t, s, child.Auth.ClientToken)
	if _, err := denied.Logical().Read("secret/data/app"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("read with the default policy: %v; want 403", err)
	}
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{
		"secret value":   canary,
		"root token":     s.RootToken,
		"child token":    child.Auth.ClientToken,
		"child accessor": child.Auth.Accessor,
	} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%s appears in clear in the audit log", name)
		}
	}
	if !bytes.Contains(raw, []byte(`"error":"permission denied"`)) {
		t.Error("the denied read is not in the audit log with \"permission denied\"")
	}
	hash, err := root.Sys().AuditHash("file", canary)
	if err != nil || !bytes.Contains(raw, []byte(hash)) {
		t.Errorf("audit-hash of the canary (%q, %v) is not in the log", hash, err)
	}
}

// collector is a TCP audit sink that can be taken down.
type collector struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startCollector(t *testing.T, addr string) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
			go func() {
				sc := bufio.NewScanner(conn)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
				}
				conn.Close()
			}()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *collector) stop() {
	c.ln.Close()
	c.wg.Wait()
	c.mu.Lock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
	c.mu.Unlock()
}

// readFails reports whether reading secret/x fails with a 500 within a few
// tries (a TCP write to a peer that just closed can still succeed once).
func readFails(t *testing.T, c *api.Client) bool {
	t.Helper()
	for i := 0; i < 10; i++ {
		_, err := c.KVv2("secret").Get(context.Background(), "x")
		if statusOf(err) == http.StatusInternalServerError {
			if strings.Contains(err.Error(), "fine") {
				t.Fatal("secret leaked in a failed request's error")
			}
			return true
		}
	}
	return false
}

// TestAuditFailsClosed: with its only device unable to record, the server
// refuses requests with a 500 and no secret, and recovers when the device
// can write again; with a second, working device it goes on.
func TestAuditFailsClosed(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	col := startCollector(t, "127.0.0.1:0")
	addr := col.ln.Addr().String()
	if err := s.Client.Sys().EnableAuditWithOptions("sock", &api.EnableAuditOptions{Type: "socket", Options: map[string]string{"address": addr, "socket_type": "tcp"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.KVv2("secret").Put(context.Background(), "x", map[string]any{"v": "fine"}); err != nil {
		t.Fatalf("write with a working device: %v", err)
	}
	col.stop()
	if !readFails(t, s.Client) {
		t.Fatal("requests kept succeeding with the only audit device unable to record")
	}
	startCollector(t, addr)
	if _, err := s.Client.KVv2("secret").Get(context.Background(), "x"); err != nil {
		t.Fatalf("after the collector came back: %v", err)
	}

	s2 := servertest.New(t, servertest.Options{})
	col2 := startCollector(t, "127.0.0.1:0")
	if err := s2.Client.Sys().EnableAuditWithOptions("sock", &api.EnableAuditOptions{Type: "socket", Options: map[string]string{"address": col2.ln.Addr().String(), "socket_type": "tcp"}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Client.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": filepath.Join(t.TempDir(), "audit.log")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Client.KVv2("secret").Put(context.Background(), "x", map[string]any{"v": "fine"}); err != nil {
		t.Fatal(err)
	}
	col2.stop()
	if readFails(t, s2.Client) {
		t.Fatal("a request failed although one audit device still records")
	}
}

// TestAuditPathInsideDataDirRefused: an API-enabled audit file cannot be
// put inside the data directory, nor made world-writable.
func TestAuditPathInsideDataDirRefused(t *testing.T) {
	dataDir := t.TempDir()
	s := servertest.New(t, servertest.Options{Storage: &config.Storage{Type: "file", Path: dataDir}})
	for name, opts := range map[string]map[string]string{
		"inside the data dir": {"file_path": filepath.Join(dataDir, "audit.log")},
		"world writable":      {"file_path": filepath.Join(t.TempDir(), "a.log"), "mode": "0666"},
	} {
		err := s.Client.Sys().EnableAuditWithOptions("f", &api.EnableAuditOptions{Type: "file", Options: opts})
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v; want 400", name, err)
		}
	}
}
