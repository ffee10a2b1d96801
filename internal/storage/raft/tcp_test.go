package raft

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
)

// tcpLayer is a plain TCP raft.StreamLayer on loopback, for tests.
type tcpLayer struct{ net.Listener }

func (l tcpLayer) Dial(addr hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

func newLayer(t testing.TB) tcpLayer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return tcpLayer{ln}
}

// openNode opens a store in dir (a fresh temp dir when empty).
func openNode(t testing.TB, dir, id string) *Store {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), id)
	}
	s, err := Open(Options{Path: dir, NodeID: id, fast: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSingle starts a bootstrapped one-node cluster and waits for it to lead.
func newSingle(t *testing.T) *Store {
	t.Helper()
	s := openNode(t, "", "n1")
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start(newLayer(t), true); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, s)
	return s
}

func waitLeader(t testing.TB, s *Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !s.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("node did not become leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
