package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/audit"
	"github.com/tresorhq/tresor/internal/logical"
)

// Canaries: none of these may appear in clear in a hashed log.
const (
	canarySecret    = "canary-secret-4f1d2"
	canaryNested    = "canary-nested-8e3a1"
	canaryToken     = "hvs.canary-token-77c0"
	canaryAccessor  = "canary-accessor-19bb"
	canaryWrapToken = "hvs.canary-wrap-2d4e"
	canaryLeaseID   = "database/creds/app/canary-lease-6a5f"
	canaryNewToken  = "hvs.canary-minted-0b93"
)

var canaries = []string{canarySecret, canaryNested, canaryToken, canaryAccessor, canaryWrapToken, canaryLeaseID, canaryNewToken}

func testSalt(t testing.TB) []byte {
	t.Helper()
	salt, err := audit.NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	return salt
}

// fullInput exercises every hashed field of both entry types.
func fullInput() *audit.Input {
	return &audit.Input{
		Request: &logical.Request{
			ID:        "5e1b7c1e-req",
			Operation: logical.UpdateOperation,
			Path:      "secret/data/app",
			Data: map[string]any{
				"password": canarySecret,
				"nested":   map[string]any{"list": []any{canaryNested, json.Number("42"), true}},
				"count":    7,
				"username": "alice",
			},
			ClientToken:   canaryToken,
			Headers:       map[string][]string{"X-Vault-Token": {canaryToken}, "X-Request-Id": {"abc"}},
			Connection:    &logical.Connection{RemoteAddr: "10.0.0.7:51234"},
			MountPoint:    "secret/",
			MountType:     "kv",
			MountAccessor: "kv_1234",
			WrapTTL:       time.Minute,
		},
		Response: &logical.Response{
			Data: map[string]any{"value": canarySecret, "ttl": 3600},
			Auth: &logical.Auth{
				ClientToken: canaryNewToken, Accessor: canaryAccessor,
				Policies: []string{"default", "app"}, TokenType: "service", TTL: time.Hour,
			},
			Secret:   &logical.Secret{LeaseID: canaryLeaseID},
			WrapInfo: &logical.WrapInfo{Token: canaryWrapToken, Accessor: canaryAccessor, TTL: 60, CreationPath: "secret/data/app"},
			Warnings: []string{"a warning"},
		},
		Auth: &audit.AuthInfo{
			ClientToken: canaryToken, Accessor: canaryAccessor, DisplayName: "userpass-alice",
			Policies: []string{"default", "app"}, TokenPolicies: []string{"default", "app"},
			Metadata: map[string]string{"username": "alice"}, EntityID: "ent-1",
			TokenType: "service", TokenTTL: 768 * time.Hour,
		},
		AuditedHeaders: map[string]bool{"x-request-id": false},
	}
}

// newFile returns a file device writing to a fresh file, and the file's path.
func newFile(t testing.TB, opts map[string]string) (audit.Device, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	o := map[string]string{"file_path": path}
	for k, v := range opts {
		o[k] = v
	}
	d, err := audit.NewDevice("file", o, testSalt(t))
	if err != nil {
		t.Fatalf("NewDevice: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// entries decodes the JSON lines of the file at path.
func entries(t testing.TB, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// field walks a decoded entry along keys.
func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func logBoth(t testing.TB, d audit.Device, in *audit.Input) {
	t.Helper()
	ctx := context.Background()
	if err := d.Log(ctx, audit.TypeRequest, time.Now(), in); err != nil {
		t.Fatalf("log request: %v", err)
	}
	if err := d.Log(ctx, audit.TypeResponse, time.Now(), in); err != nil {
		t.Fatalf("log response: %v", err)
	}
}
