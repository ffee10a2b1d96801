package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestRaftSnapshotSudoAndAudit: operator raft snapshot save and restore go
// through the ordinary request path. A token without sudo on the snapshot
// paths gets 403 for both; with sudo both work; both are in the file audit
// log (request and response entries, the token HMAC'd); and with the only
// audit device unable to record, neither runs.
func TestRaftSnapshotSudoAndAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	p := newRaftProc(t, "s1")
	_, root := initSingle(t, p)
	c := p.client(root)
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	const paths = `path "sys/storage/raft/snapshot" { capabilities = [%s] }
path "sys/storage/raft/snapshot-force" { capabilities = [%s] }`
	for name, caps := range map[string]string{
		"snap-nosudo": `"read", "update"`,
		"snap-sudo":   `"read", "update", "sudo"`,
	} {
		if err := c.Sys().PutPolicy(name, strings.ReplaceAll(paths, "%s", caps)); err != nil {
			t.Fatal(err)
		}
	}
	token := func(policy string) string {
		s, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{policy}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Auth.ClientToken
	}
	noSudo, sudo := token("snap-nosudo"), token("snap-sudo")

	dir := t.TempDir()
	snap := filepath.Join(dir, "s.snap")
	if out := p.cliFails(noSudo, "operator", "raft", "snapshot", "save", snap); !strings.Contains(out, "403") {
		t.Fatalf("save without sudo: %s", out)
	}
	if _, err := os.Stat(snap); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused save left a file: %v", err)
	}
	p.cli(sudo, "operator", "raft", "snapshot", "save", snap)
	if out := p.cliFails(noSudo, "operator", "raft", "snapshot", "restore", snap); !strings.Contains(out, "403") {
		t.Fatalf("restore without sudo: %s", out)
	}
	if out := p.cliFails(noSudo, "operator", "raft", "snapshot", "restore", "-force", snap); !strings.Contains(out, "403") {
		t.Fatalf("forced restore without sudo: %s", out)
	}
	p.cli(sudo, "operator", "raft", "snapshot", "restore", snap)
	if st, err := c.Sys().SealStatus(); err != nil || st.Sealed {
		t.Fatalf("a same-cluster restore sealed the server: %+v %v", st, err)
	}

	// Every one of those is in the audit log, request and response.
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{root, noSudo, sudo} {
		if bytes.Contains(raw, []byte(tok)) {
			t.Fatal("a token in clear in the audit log")
		}
	}
	type key struct{ typ, op, path string }
	seen := map[key]int{}
	denied := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Error   string `json:"error"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line: %v", err)
		}
		if strings.HasPrefix(e.Request.Path, "sys/storage/raft/snapshot") {
			seen[key{e.Type, e.Request.Operation, e.Request.Path}]++
			if e.Type == "response" && strings.Contains(e.Error, "permission denied") {
				denied++
			}
		}
	}
	for _, k := range []key{
		{"request", "read", "sys/storage/raft/snapshot"}, {"response", "read", "sys/storage/raft/snapshot"},
		{"request", "update", "sys/storage/raft/snapshot"}, {"response", "update", "sys/storage/raft/snapshot"},
		{"request", "update", "sys/storage/raft/snapshot-force"}, {"response", "update", "sys/storage/raft/snapshot-force"},
	} {
		if seen[k] == 0 {
			t.Errorf("no %s entry for %s %s in the audit log; saw %v", k.typ, k.op, k.path, seen)
		}
	}
	if denied < 3 {
		t.Errorf("%d refused snapshot requests audited as permission denied, want 3", denied)
	}

	// The only audit device cannot record: no snapshot leaves the server
	// and none is installed.
	col := newAuditCollector(t)
	if err := c.Sys().EnableAuditWithOptions("sock", &api.EnableAuditOptions{Type: "socket",
		Options: map[string]string{"address": col.addr(), "socket_type": "tcp"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().DisableAudit("file"); err != nil {
		t.Fatal(err)
	}
	col.close()
	failing := false
	for range 20 {
		_, err := c.Auth().Token().LookupSelf()
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusInternalServerError {
			failing = true
			break
		}
	}
	if !failing {
		t.Fatal("requests kept succeeding with the only audit device gone")
	}
	snap2 := filepath.Join(dir, "s2.snap")
	if out := p.cliFails(sudo, "operator", "raft", "snapshot", "save", snap2); !strings.Contains(out, "500") {
		t.Fatalf("save with the audit device failing: %s", out)
	}
	if _, err := os.Stat(snap2); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a save refused for want of audit left a file: %v", err)
	}
	if out := p.cliFails(sudo, "operator", "raft", "snapshot", "restore", snap); !strings.Contains(out, "500") {
		t.Fatalf("restore with the audit device failing: %s", out)
	}
}

// auditCollector is the peer of a socket audit device: it accepts
// connections on loopback and discards what they carry until closed.
type auditCollector struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newAuditCollector(t *testing.T) *auditCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &auditCollector{ln: ln}
	a.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.conns = append(a.conns, conn)
			a.mu.Unlock()
			a.wg.Go(func() { _, _ = io.Copy(io.Discard, conn) })
		}
	})
	t.Cleanup(a.close)
	return a
}

func (a *auditCollector) addr() string { return a.ln.Addr().String() }

// close stops listening and drops every connection, as a peer that died.
func (a *auditCollector) close() {
	_ = a.ln.Close()
	a.mu.Lock()
	for _, c := range a.conns {
		_ = c.Close()
	}
	a.conns = nil
	a.mu.Unlock()
	a.wg.Wait()
}
