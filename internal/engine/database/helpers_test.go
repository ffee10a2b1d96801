package database_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/servertest"
)

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// write writes data at path and fails on error.
func write(t testing.TB, c *api.Client, path string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

// read reads path and fails on error or nothing.
func read(t testing.TB, c *api.Client, path string) *api.Secret {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil || s == nil {
		t.Fatalf("read %s: %v (%v)", path, s, err)
	}
	return s
}

// status is the HTTP status of an API error (0 for none).
func status(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// newServer starts an in-process Tresor with the database engine at
// database/ and an audit file, which is returned.
func newServer(t testing.TB) (*servertest.Server, string) {
	t.Helper()
	srv := servertest.New(t, servertest.Options{})
	c := srv.Client
	must(t, c.Sys().Mount("database", &api.MountInput{Type: "database"}))
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	must(t, c.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditPath}}))
	return srv, auditPath
}

// persistentServer starts a Tresor over bolt storage in dir: a new one
// (initialised) when key is nil, else one unsealed with key. stop ends it.
func persistentServer(t *testing.T, dir, key, root string) (c *api.Client, unsealKey, rootToken string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var srv *servertest.Server
	done := make(chan struct{})
	// A subtest's cleanups run when it returns; park it until stop.
	go func() {
		t.Run("server", func(t *testing.T) {
			srv = servertest.New(t, servertest.Options{
				Storage:       &config.Storage{Type: "bolt", Path: dir},
				Uninitialized: key != "",
			})
			close(done)
			<-ctx.Done()
		})
	}()
	<-done
	c = srv.Client
	if key == "" {
		return c, srv.UnsealKeys[0], srv.RootToken, cancel
	}
	if _, err := c.Sys().Unseal(key); err != nil {
		t.Fatal(err)
	}
	c.SetToken(root)
	return c, key, root, cancel
}

// eventually polls cond every 100 ms for up to limit; it fails with msg.
func eventually(t testing.TB, limit time.Duration, msg string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", limit, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// canLogin reports whether driver/dsn accepts a connection and a query.
func canLogin(driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// noSecret fails if any secret appears in the audit log.
func noSecret(t testing.TB, auditPath string, secrets ...string) {
	t.Helper()
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(raw), s) {
			t.Errorf("a secret appears in clear in the audit log")
		}
	}
}

var _ = http.StatusOK
