package sys

import (
	"bytes"
	"context"
	"io"

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
