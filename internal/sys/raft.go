package sys

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	raftstore "github.com/tresorhq/tresor/internal/storage/raft"
)

// raftStorage is implemented by a core that can hand out its physical
// storage; sys/storage/raft/* answer only when that is Raft.
type raftStorage interface {
	PhysicalStorage() storage.Store
}

func (b *Backend) raftStore() (*raftstore.Store, error) {
	if rs, ok := b.core.(raftStorage); ok {
		if s, ok := rs.PhysicalStorage().(*raftstore.Store); ok {
			return s, nil
		}
	}
	return nil, logical.InvalidRequest("raft storage is not in use")
}

// RaftSnapshotter is the part of the core behind GET
// sys/storage/raft/snapshot, found by type assertion: it writes a snapshot
// of the whole Raft cluster (ciphertext, as stored) to w, or answers a 400
// when the storage is not Raft. It runs inside the request, which holds
// the core unsealed.
type RaftSnapshotter interface {
	SaveRaftSnapshot(ctx context.Context, w io.Writer) error
}

// RaftSnapshotContentType is the content type of a saved Raft snapshot
// (a gzip-compressed tar, as Vault's).
const RaftSnapshotContentType = "application/gzip"

// raftSnapshot answers GET sys/storage/raft/snapshot (sudo) with the
// snapshot file. The restore (POST) carries a binary body, so httpapi
// hands it to the core's RestoreStorage, which authenticates, authorises
// and audits it like any request.
func (b *Backend) raftSnapshot(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	rs, ok := b.core.(RaftSnapshotter)
	if !ok {
		return nil, logical.InvalidRequest("raft storage is not in use")
	}
	var buf bytes.Buffer
	if err := rs.SaveRaftSnapshot(ctx, &buf); err != nil {
		return nil, err
	}
	return &logical.Response{RawBody: buf.Bytes(), RawContentType: RaftSnapshotContentType}, nil
}

// raft answers sys/storage/raft/configuration, remove-peer, snapshot and
// autopilot/*.
func (b *Backend) raft(ctx context.Context, req *logical.Request, path string) (*logical.Response, error) {
	if path == "snapshot" {
		return b.raftSnapshot(ctx, req)
	}
	s, err := b.raftStore()
	if err != nil {
		return nil, err
	}
	switch {
	case path == "configuration" && req.Operation == logical.ReadOperation:
		conf, err := s.Configuration()
		if err != nil {
			return nil, err
		}
		servers := make([]map[string]any, 0, len(conf.Servers))
		for _, p := range conf.Servers {
			servers = append(servers, map[string]any{
				"node_id": p.NodeID, "address": p.Address, "leader": p.Leader,
				"voter": p.Voter, "protocol_version": "3",
			})
		}
		return &logical.Response{Data: map[string]any{"config": map[string]any{
			"servers": servers, "index": conf.Index,
		}}}, nil
	case path == "remove-peer" && req.Operation == logical.UpdateOperation:
		id, _ := req.Data["server_id"].(string)
		if strings.TrimSpace(id) == "" {
			return nil, logical.InvalidRequest("no server id provided")
		}
		if id == s.NodeID() {
			return nil, logical.InvalidRequest("cannot remove the active node; step it down first")
		}
		if err := s.RemovePeer(id); err != nil {
			return nil, err
		}
		return nil, nil
	case path == "autopilot/state" && req.Operation == logical.ReadOperation:
		st, err := s.AutopilotState()
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: st}, nil
	case path == "autopilot/configuration" && req.Operation == logical.ReadOperation:
		return &logical.Response{Data: s.Autopilot().Map()}, nil
	case path == "autopilot/configuration" && req.Operation == logical.UpdateOperation:
		cfg, err := s.Autopilot().Merge(req.Data)
		if err != nil {
			return nil, logical.InvalidRequest("%s", err.Error())
		}
		if err := s.SetAutopilot(ctx, cfg); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, logical.ErrUnsupportedPath
}
