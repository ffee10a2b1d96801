package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
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
	"time"

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
	const canary = "canary-9f3a61-do-not-log"
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": canary}); err != nil {
		t.Fatal(err)
	}

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
	if bytes.Contains(raw, []byte(canary)) {
		t.Fatal("a secret in clear in the audit log")
	}
	if f, err := os.Open(snap); err != nil {
		t.Fatal(err)
	} else {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tarball, err := io.ReadAll(zr)
		f.Close()
		if err != nil || bytes.Contains(tarball, []byte(canary)) {
			t.Fatalf("the snapshot is unreadable or holds a secret in clear: %v", err)
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

	// A backup in operator backup's format cannot be restored onto Raft
	// storage (the snapshot is the way): a clear 400, and nothing changes.
	bk := filepath.Join(dir, "b.backup")
	p.cli(root, "operator", "backup", bk)
	if out := p.cliFails(root, "operator", "restore", "-force", bk); !strings.Contains(out, "400") || !strings.Contains(out, "raft snapshot") {
		t.Fatalf("operator restore on raft storage: %s", out)
	}
	if st, err := c.Sys().SealStatus(); err != nil || st.Sealed {
		t.Fatalf("a refused restore sealed the server: %+v %v", st, err)
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

// TestRaftRestoreSealsEveryNode: a snapshot of another cluster restored
// (-force) on the active node of a three-node cluster seals every node,
// not only the one that restored: the followers install it through Raft
// and their keys no longer open the data. Each then reports the
// snapshot's seal configuration, unseals with the snapshot cluster's key,
// and the cluster serves the restored data.
func TestRaftRestoreSealsEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers")
	}
	src := newRaftProc(t, "src1")
	srcKey, srcRoot := initSingle(t, src)
	if err := src.client(srcRoot).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.client(srcRoot).KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "from-src"}); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "src.snap")
	src.cli(srcRoot, "operator", "raft", "snapshot", "save", snap)

	nodes, _, root := startRaftCluster(t)
	active := activeOf(t, nodes, 10*time.Second)
	if active == nil {
		t.Fatal("no active node")
	}
	if err := active.client(root).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := active.client(root).KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "from-cluster"}); err != nil {
		t.Fatal(err)
	}
	// Raft refuses a restore while a configuration change is pending: wait
	// for the joined nodes' promotion to voters.
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := active.client(root).Logical().Read("sys/storage/raft/configuration")
		voters := 0
		if err == nil && s != nil {
			cfg, _ := s.Data["config"].(map[string]any)
			servers, _ := cfg["servers"].([]any)
			for _, sv := range servers {
				if m, _ := sv.(map[string]any); m["voter"] == true {
					voters++
				}
			}
		}
		if voters == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the joined nodes were not promoted to voters: %v, %v", s, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	active.cli(root, "operator", "raft", "snapshot", "restore", "-force", snap)

	// Every node seals, with the snapshot's seal configuration (1 of 1,
	// where the cluster had 2 of 3).
	waitSealedOneOfOne(t, nodes)
	for _, n := range nodes {
		if code := healthCode(t, n.addr); code != http.StatusServiceUnavailable {
			t.Fatalf("sealed node %s health = %d, want 503", n.addr, code)
		}
	}

	for _, n := range nodes {
		n.cli("", "operator", "unseal", srcKey)
	}
	if activeOf(t, nodes, 30*time.Second) == nil {
		t.Fatal("no node became active after unsealing with the snapshot's key")
	}
	for _, n := range nodes { // the active node and, forwarded, the standbys
		s, err := n.client(srcRoot).KVv2("secret").Get(context.Background(), "app")
		if err != nil || s.Data["v"] != "from-src" {
			t.Fatalf("read on %s after the restore = %v, %v; want from-src", n.addr, s, err)
		}
	}
	if _, err := nodes[0].client(root).KVv2("secret").Get(context.Background(), "app"); err == nil {
		t.Fatal("the replaced cluster's root token still works")
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
