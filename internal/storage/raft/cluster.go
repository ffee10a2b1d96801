package raft

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
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

// Snapshot file format, as Vault's (so its API client accepts it): a
// gzip-compressed tar of meta.json, state.bin (the state file),
// SHA256SUMS (of both) and SHA256SUMS.sealed, a MAC of SHA256SUMS made by
// the caller with a key of its cluster, so a snapshot from another cluster
// (or a tampered one) is told apart.

// ErrBadSnapshot is returned by RestoreSnapshot for a file that is not a
// complete, untampered snapshot.
var ErrBadSnapshot = errors.New("storage/raft: snapshot is truncated, corrupt or not a raft snapshot")

// ErrForeignSnapshot is returned by RestoreSnapshot when the snapshot's
// seal does not verify (another cluster's snapshot: restore with force).
var ErrForeignSnapshot = errors.New("storage/raft: snapshot was taken on another cluster or its signature does not match; use force to install it")

type snapshotHeader struct {
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	Size  int64  `json:"size"`
}

// SaveSnapshot takes a Raft snapshot and writes it to w; seal MACs the
// checksum file.
func (s *Store) SaveSnapshot(w io.Writer, seal func(sums []byte) ([]byte, error)) error {
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
	state, err := io.ReadAll(io.LimitReader(rc, maxSnapshotSize+1))
	if err != nil {
		return err
	}
	if int64(len(state)) != meta.Size || len(state) > maxSnapshotSize {
		return fmt.Errorf("storage/raft: snapshot size %d, want %d", len(state), meta.Size)
	}
	hdr, _ := json.Marshal(snapshotHeader{Index: meta.Index, Term: meta.Term, Size: meta.Size})
	sums := checksums(hdr, state)
	sealed, err := seal(sums)
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{"meta.json", hdr}, {"state.bin", state}, {"SHA256SUMS", sums}, {"SHA256SUMS.sealed", sealed}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: time.Now()}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func checksums(meta, state []byte) []byte {
	m, st := sha256.Sum256(meta), sha256.Sum256(state)
	return []byte(hex.EncodeToString(m[:]) + "  meta.json\n" + hex.EncodeToString(st[:]) + "  state.bin\n")
}

// maxSnapshotSize bounds what a snapshot may hold in memory.
const maxSnapshotSize = 1 << 30

// RestoreSnapshot replaces the whole cluster's state with a snapshot read
// from rd, checked completely before anything changes. verify checks
// SHA256SUMS.sealed; nil skips that (force). Only on the leader.
func (s *Store) RestoreSnapshot(rd io.Reader, verify func(sums, sealed []byte) error) error {
	r := s.raft()
	if r == nil {
		return ErrNotStarted
	}
	state, sums, sealed, err := readSnapshot(rd)
	if err != nil {
		return err
	}
	if verify != nil {
		if err := verify(sums, sealed); err != nil {
			return ErrForeignSnapshot
		}
	}
	if state, err = s.resetMeta(state); err != nil {
		return err
	}
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	meta := &hraft.SnapshotMeta{Version: hraft.SnapshotVersionMax, Size: int64(len(state)),
		Configuration: cf.Configuration(), ConfigurationIndex: cf.Index()}
	if err := r.Restore(meta, bytes.NewReader(state), 0); err != nil {
		return fmt.Errorf("storage/raft: restore: %w", err)
	}
	return nil
}

func readSnapshot(rd io.Reader) (state, sums, sealed []byte, err error) {
	gz, err := gzip.NewReader(io.LimitReader(rd, maxSnapshotSize+1<<20))
	if err != nil {
		return nil, nil, nil, ErrBadSnapshot
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil || h.Size < 0 || h.Size > maxSnapshotSize {
			return nil, nil, nil, ErrBadSnapshot
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil || int64(len(b)) != h.Size {
			return nil, nil, nil, ErrBadSnapshot
		}
		files[h.Name] = b
	}
	if _, err := io.Copy(io.Discard, gz); err != nil { // checks the gzip trailer
		return nil, nil, nil, ErrBadSnapshot
	}
	meta, state, sums, sealed := files["meta.json"], files["state.bin"], files["SHA256SUMS"], files["SHA256SUMS.sealed"]
	var hdr snapshotHeader
	if json.Unmarshal(meta, &hdr) != nil || hdr.Size != int64(len(state)) || len(state) == 0 ||
		!bytes.Equal(sums, checksums(meta, state)) || len(sealed) == 0 {
		return nil, nil, nil, ErrBadSnapshot
	}
	return state, sums, sealed, nil
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
