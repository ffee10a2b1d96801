package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"

	"github.com/tresorhq/tresor/internal/agent"
	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// TestRegistryPostgresCredentials: a registry service's vault_dynamic
// entry gets DB_USERNAME/DB_PASSWORD of a role the database engine created
// in a real PostgreSQL. It skips until the database engine (built in
// parallel) exists; the lease handling is covered with a leasing test
// engine by TestRegistryDynamicCredentials.
func TestRegistryPostgresCredentials(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().Mount("database", &api.MountInput{Type: "database"}); err != nil {
		t.Skipf("no database secrets engine in this build yet (%v); vault_dynamic is tested with a leasing test engine", err)
	}
	pg := pgtest.Start(t)
	if _, err := c.Logical().Write("database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL, "allowed_roles": "my-app",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("database/roles/my-app", map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         "1h",
	}); err != nil {
		t.Fatal(err)
	}
	role, secret := machineRole(t, c, "m1", "database/creds/my-app")
	dir := t.TempDir()
	reg, err := agent.ParseRegistry("r.yml", []byte(fmt.Sprintf(`machines:
  m1: {vault_role_id: %q, vault_secret_id: %q}
services:
  my-app:
    machine: m1
    command: %s
    vault_dynamic:
      - engine: "database"
        role: "my-app"
        env_prefix: "DB"
`, role, secret, serviceScript("my-app"))))
	if err != nil {
		t.Fatal(err)
	}
	startSupervisor(t, c, reg, "m1", []string{"PATH=" + os.Getenv("PATH"), "DIR=" + dir})
	waitFor(t, 10*time.Second, "the service", func() bool { return countLines(filepath.Join(dir, "my-app.starts")) == 1 })
	env := envVars(t, filepath.Join(dir, "my-app.env"))
	if env["DB_USERNAME"] == "" || env["DB_PASSWORD"] == "" {
		t.Fatalf("no credentials: %v", env)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", env["DB_USERNAME"]).Scan(&n); err != nil || n != 1 {
		t.Errorf("role %q in PostgreSQL: %d %v", env["DB_USERNAME"], n, err)
	}
}
