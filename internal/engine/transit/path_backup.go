package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// backupBlob is the JSON inside a backup's base64.
type backupBlob struct {
	Policy     *policy   `json:"policy"`
	BackupTime time.Time `json:"backup_time"`
	Format     int       `json:"format"`
}

func (b *Backend) pathBackup() *framework.Path {
	return &framework.Path{
		Pattern:    "backup/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.backupHandler},
		Synopsis:   "Back up a key (all its versions and settings) as plaintext; needs allow_plaintext_backup and exportable.",
	}
}

func (b *Backend) backupHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	p, err := b.key(ctx, req.Storage, req.Param("name"))
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, logical.InvalidRequest("key %q not found", req.Param("name"))
	}
	if !p.AllowPlaintextBackup || !p.Exportable {
		return nil, logical.InvalidRequest("exporting is disallowed on the policy")
	}
	raw, err := json.Marshal(backupBlob{Policy: p, BackupTime: b.now().UTC(), Format: 1})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"backup": base64.StdEncoding.EncodeToString(raw)}}, nil
}

func restoreFields() map[string]*framework.Field {
	return map[string]*framework.Field{
		"backup": {Type: framework.TypeString, Description: "The backup, as backup/ returned it."},
		"force":  {Type: framework.TypeBool, Description: "Replace an existing key of the same name."},
	}
}

func (b *Backend) pathRestore() *framework.Path {
	return &framework.Path{
		Pattern:    "restore",
		Fields:     restoreFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.restoreHandler},
		Synopsis:   "Restore a key from a backup, under its own name.",
	}
}

func (b *Backend) pathRestoreName() *framework.Path {
	return &framework.Path{
		Pattern:    "restore/{name}",
		Fields:     restoreFields(),
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.restoreHandler},
		Synopsis:   "Restore a key from a backup under a new name.",
	}
}

func (b *Backend) restoreHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Name   string `field:"name"`
		Backup string `field:"backup"`
		Force  bool   `field:"force"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Backup == "" {
		return nil, logical.InvalidRequest("'backup' must be supplied")
	}
	raw, err := base64.StdEncoding.DecodeString(in.Backup)
	if err != nil {
		return nil, logical.InvalidRequest("failed to base64-decode backup")
	}
	var blob struct {
		Policy json.RawMessage `json:"policy"`
	}
	if err := json.Unmarshal(raw, &blob); err != nil || len(blob.Policy) == 0 {
		return nil, logical.InvalidRequest("invalid backup")
	}
	p, err := decodePolicy(blob.Policy)
	if err != nil || p.Name == "" || !validType(p.Type) || p.Versions[p.LatestVersion] == nil {
		return nil, logical.InvalidRequest("invalid backup")
	}
	if in.Name != "" {
		p.Name = in.Name
	}
	if err := validName(p.Name); err != nil {
		return nil, err
	}
	_, err = b.keys.update(ctx, req.Storage, p.Name, func(cur *policy) (*policy, error) {
		if cur != nil && !in.Force {
			return nil, logical.InvalidRequest("key %q already exists", p.Name)
		}
		return p, nil
	})
	return nil, err
}
