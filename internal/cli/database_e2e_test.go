package cli

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// TestDatabaseSeeds runs the seeds' database commands (Portoser's
// vault_dynamic, the Docker Secret Operator's dso://database/creds/app)
// through the CLI as written, against a real PostgreSQL; only the
// database's address is this test's.
func TestDatabaseSeeds(t *testing.T) {
	pg := pgtest.StartWith(t, pgtest.Options{Password: "pg-super-Secret"})
	super, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	for _, q := range []string{
		`CREATE ROLE vault WITH LOGIN SUPERUSER PASSWORD 'vaultpass'`,
		`CREATE ROLE "vault-admin" WITH LOGIN SUPERUSER PASSWORD 'vault-admin-password'`,
		`CREATE TABLE items (id int PRIMARY KEY, name text)`,
		`INSERT INTO items VALUES (1, 'one')`,
	} {
		if _, err := super.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", pg.Port)

	srv := servertest.New(t, servertest.Options{})
	home := t.TempDir()
	vars := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken}
	run := func(args ...string) string {
		t.Helper()
		r := runCLI(t, home, vars, "", args...)
		if r.code != 0 {
			t.Fatalf("vault %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	login := func(user, password, query string) {
		t.Helper()
		db, err := sql.Open("pgx", fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", user, password, addr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var v any
		if err := db.QueryRow(query).Scan(&v); err != nil {
			t.Fatalf("login as %s and select: %v", user, err)
		}
	}

	// Portoser.
	run("secrets", "enable", "database")
	run("write", "database/config/postgresql",
		"plugin_name=postgresql-database-plugin",
		"allowed_roles=*",
		"connection_url=postgresql://{{username}}:{{password}}@"+addr+"/postgres",
		"username=vault",
		"password=vaultpass")
	run("write", "database/roles/my-app",
		"db_name=postgresql",
		`creation_statements=CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
		"default_ttl=1h",
		"max_ttl=24h")
	out := run("read", "database/creds/my-app")
	for _, want := range []string{"lease_id", "database/creds/my-app/", "lease_duration", "1h", "lease_renewable", "true", "username", "password"} {
		if !strings.Contains(out, want) {
			t.Errorf("read database/creds/my-app: no %q in\n%s", want, out)
		}
	}
	var mine struct {
		Data struct{ Username, Password string }
	}
	if err := json.Unmarshal([]byte(run("read", "-format=json", "database/creds/my-app")), &mine); err != nil {
		t.Fatal(err)
	}
	login(mine.Data.Username, mine.Data.Password, `SELECT name FROM items WHERE id = 1`)
	if user := strings.TrimSpace(run("read", "-field=username", "database/creds/my-app")); !strings.HasPrefix(user, "v-") {
		t.Errorf("username %q", user)
	}

	// Docker Secret Operator: the role before its connection, as written.
	run("write", "database/roles/app",
		"db_name=postgres",
		`creation_statements=CREATE USER "{{name}}" WITH PASSWORD '{{password}}';`,
		"default_ttl=1h",
		"max_ttl=24h")
	run("write", "database/config/postgres",
		"plugin_name=postgresql-database-plugin",
		"allowed_roles=app",
		"connection_url=postgresql://{{username}}:{{password}}@"+addr+"/postgres",
		"username=vault-admin",
		"password=vault-admin-password")
	if out := run("read", "database/config/postgres"); strings.Contains(out, "vault-admin-password") || !strings.Contains(out, "connection_details") {
		t.Errorf("read config:\n%s", out)
	}
	run("read", "database/roles/app")
	if out := run("secrets", "list"); !strings.Contains(out, "database/") {
		t.Errorf("secrets list:\n%s", out)
	}
	u := strings.TrimSpace(run("read", "-format=json", "database/creds/app"))
	var creds struct {
		LeaseID string `json:"lease_id"`
		Data    struct{ Username, Password string }
	}
	if err := json.Unmarshal([]byte(u), &creds); err != nil {
		t.Fatal(err)
	}
	login(creds.Data.Username, creds.Data.Password, `SELECT 1`)
	// my-app is not among allowed_roles of "postgres"; app is not a role of
	// "postgresql": each role uses its own connection.
	run("lease", "revoke", creds.LeaseID)
	var n int
	if err := super.QueryRow(`SELECT count(*) FROM pg_roles WHERE rolname = $1`, creds.Data.Username).Scan(&n); err != nil || n != 0 {
		t.Fatalf("user after lease revoke: %d %v", n, err)
	}
}
