package sys

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/tresorhq/tresor/internal/backup"
	"github.com/tresorhq/tresor/internal/logical"
)

// StorageBackuper is the part of the core behind sys/storage/backup, found
// by type assertion.
type StorageBackuper interface {
	BackupStorage(ctx context.Context, w io.Writer) (backup.Info, error)
}

// BackupContentType is the content type of sys/storage/backup's answer.
const BackupContentType = "application/octet-stream"

// storageBackup answers GET sys/storage/backup (sudo) with a backup file
// of the whole encrypted store (see package backup).
func (b *Backend) storageBackup(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	bk, ok := b.core.(StorageBackuper)
	if !ok {
		return nil, logical.ErrUnsupportedPath
	}
	var buf bytes.Buffer
	if _, err := bk.BackupStorage(ctx, &buf); err != nil {
		return nil, err
	}
	return &logical.Response{RawBody: buf.Bytes(), RawContentType: BackupContentType}, nil
}

// BackupLister is the part of the core behind sys/backups, found by type
// assertion: the scheduler of the backup "local" stanza, nil without one.
type BackupLister interface {
	Backups() *backup.Scheduler
}

// backups answers sys/backups (sudo): LIST gives the file names with
// key_info, GET the list of backups, GET sys/backups/NAME one backup. Each
// backup is described by name, size, created, verified and error.
func (b *Backend) backups(req *logical.Request, name string) (*logical.Response, error) {
	bl, ok := b.core.(BackupLister)
	var s *backup.Scheduler
	if ok {
		s = bl.Backups()
	}
	if s == nil {
		return nil, logical.InvalidRequest(`scheduled backups are not configured: add a backup "local" { path = "..." } stanza to the server configuration`)
	}
	describe := func(st backup.Status) map[string]any {
		return map[string]any{
			"name": st.Name, "size": st.Size, "created": st.Created.Format(time.RFC3339Nano),
			"verified": st.Verified, "error": st.Error,
		}
	}
	if name != "" {
		if req.Operation != logical.ReadOperation {
			return nil, logical.ErrUnsupportedOperation
		}
		st, ok := s.Get(name)
		if !ok {
			return nil, nil // 404
		}
		return &logical.Response{Data: describe(st)}, nil
	}
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	switch req.Operation {
	case logical.ListOperation:
		keys := make([]string, 0, len(list))
		info := make(map[string]any, len(list))
		for _, st := range list {
			keys = append(keys, st.Name)
			info[st.Name] = describe(st)
		}
		return &logical.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
	case logical.ReadOperation:
		out := make([]any, 0, len(list))
		for _, st := range list {
			out = append(out, describe(st))
		}
		return &logical.Response{Data: map[string]any{"backups": out}}, nil
	}
	return nil, logical.ErrUnsupportedOperation
}
