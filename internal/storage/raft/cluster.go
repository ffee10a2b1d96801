package raft

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// Peer is one server of the Raft configuration.
type Peer struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// Configuration is the cluster's current membership.
type Configuration struct {
	Servers []Peer `json:"servers"`
	Index   uint64 `json:"index"`
}

// membershipTimeout bounds AddVoter and RemoveServer.
const membershipTimeout = 30 * time.Second

// Configuration reports the current members.
func (s *Store) Configuration() (Configuration, error) {
	r := s.raft()
	if r == nil {
		return Configuration{}, ErrNotStarted
	}
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return Configuration{}, err
	}
	_, leader := r.LeaderWithID()
	out := Configuration{Index: f.Index(), Servers: []Peer{}}
	for _, sv := range f.Configuration().Servers {
		out.Servers = append(out.Servers, Peer{
			NodeID: string(sv.ID), Address: string(sv.Address),
			Leader: sv.ID == leader, Voter: sv.Suffrage == hraft.Voter,
		})
	}
	return out, nil
}

// AddVoter adds (or updates) a voting member. Only on the leader.
func (s *Store) AddVoter(id, addr string) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	if err := r.AddVoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, membershipTimeout).Error(); err != nil {
		return fmt.Errorf("storage/raft: add %s: %w", id, err)
	}
	return nil
}

// AddNonvoter adds a member that replicates but does not vote (a joining
// node, promoted with AddVoter once it runs). Only on the leader.
func (s *Store) AddNonvoter(id, addr string) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	if err := r.AddNonvoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, membershipTimeout).Error(); err != nil {
		return fmt.Errorf("storage/raft: add %s: %w", id, err)
	}
	return nil
}

// RemovePeer removes a member. Only on the leader.
func (s *Store) RemovePeer(id string) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	if err := r.RemoveServer(hraft.ServerID(id), 0, membershipTimeout).Error(); err != nil {
		return fmt.Errorf("storage/raft: remove %s: %w", id, err)
	}
	return nil
}

// LastContact is when this follower last heard from the leader (zero on
// the leader or before Start).
func (s *Store) LastContact() time.Time {
	if r := s.raft(); r != nil {
		return r.LastContact()
	}
	return time.Time{}
}

// Snapshot file format: a magic line, one JSON line of metadata, the state
// file, and a SHA-256 of everything before it.
const snapshotMagic = "TRESOR-RAFT-SNAPSHOT-1\n"

// ErrBadSnapshot is returned by RestoreSnapshot for a file that is not a
// complete, untampered snapshot.
var ErrBadSnapshot = errors.New("storage/raft: snapshot is truncated, corrupt or not a Tresor raft snapshot")

type snapshotHeader struct {
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	Size  int64  `json:"size"`
}

// SaveSnapshot takes a Raft snapshot and writes it to w.
func (s *Store) SaveSnapshot(w io.Writer) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	f := r.Snapshot()
	if err := f.Error(); err != nil {
		return fmt.Errorf("storage/raft: snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("storage/raft: open snapshot: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	hdr, _ := json.Marshal(snapshotHeader{Index: meta.Index, Term: meta.Term, Size: meta.Size})
	if _, err := io.WriteString(mw, snapshotMagic+string(hdr)+"\n"); err != nil {
		return err
	}
	n, err := io.Copy(mw, rc)
	if err != nil {
		return err
	}
	if n != meta.Size {
		return fmt.Errorf("storage/raft: snapshot size %d, want %d", n, meta.Size)
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

// maxSnapshotHeader bounds the metadata line.
const maxSnapshotHeader = 4096

// RestoreSnapshot replaces the whole cluster's state with a snapshot read
// from rd (checked completely before anything changes). Only on the leader.
func (s *Store) RestoreSnapshot(rd io.Reader) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	data, err := readSnapshot(rd)
	if err != nil {
		return err
	}
	if data, err = s.resetMeta(data); err != nil {
		return err
	}
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	meta := &hraft.SnapshotMeta{Version: hraft.SnapshotVersionMax, Size: int64(len(data)),
		Configuration: cf.Configuration(), ConfigurationIndex: cf.Index()}
	if err := r.Restore(meta, bytes.NewReader(data), 0); err != nil {
		return fmt.Errorf("storage/raft: restore: %w", err)
	}
	return nil
}

// maxSnapshotSize bounds what RestoreSnapshot reads into memory.
const maxSnapshotSize = 1 << 30

func readSnapshot(rd io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(rd, maxSnapshotSize+maxSnapshotHeader+64))
	h := sha256.New()
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, ErrBadSnapshot
	}
	h.Write(magic)
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) > maxSnapshotHeader {
		return nil, ErrBadSnapshot
	}
	h.Write(line)
	var hdr snapshotHeader
	if err := json.Unmarshal(line, &hdr); err != nil || hdr.Size <= 0 || hdr.Size > maxSnapshotSize {
		return nil, ErrBadSnapshot
	}
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(br, data); err != nil {
		return nil, ErrBadSnapshot
	}
	h.Write(data)
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, sum); err != nil || !bytes.Equal(sum, h.Sum(nil)) {
		return nil, ErrBadSnapshot
	}
	if n, _ := br.Read(make([]byte, 1)); n != 0 {
		return nil, ErrBadSnapshot
	}
	return data, nil
}

// resetMeta clears a restored state file's bookkeeping: its applied index
// counts another log (the cluster's own indexes follow), and its HA value
// names a leader that may not exist here.
func (s *Store) resetMeta(data []byte) ([]byte, error) {
	tmp, err := os.CreateTemp(s.opts.Path, "restore-*.db")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	db, err := bbolt.Open(name, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, ErrBadSnapshot
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(dataBucket) == nil {
			return ErrBadSnapshot
		}
		m, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if err := m.Delete(haKey); err != nil {
			return err
		}
		return m.Delete(appliedKey)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}
