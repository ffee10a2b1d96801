package database_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// pgEnv is a PostgreSQL with an admin "vault" (password vaultpass) and a
// table public.items, as the seeds assume.
type pgEnv struct {
	*pgtest.Server
	super *sql.DB
}

func startPG(t testing.TB) *pgEnv {
	t.Helper()
	pg := pgtest.StartWith(t, pgtest.Options{Password: "pg-super-Secret"})
	super, err := sql.Open("pgx", pg.URL)
	must(t, err)
	t.Cleanup(func() { super.Close() })
	for _, q := range []string{
		`CREATE ROLE vault WITH LOGIN SUPERUSER PASSWORD 'vaultpass'`,
		`CREATE TABLE items (id int PRIMARY KEY, name text)`,
		`INSERT INTO items VALUES (1, 'one')`,
		`CREATE ROLE static_user WITH LOGIN PASSWORD 'initial-Pw-1'`,
	} {
		if _, err := super.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return &pgEnv{Server: pg, super: super}
}

// url is a connection URL for user and password.
func (e *pgEnv) url(user, password string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", user, password, e.Port)
}

// connURL is the Vault-style templated connection URL.
func (e *pgEnv) connURL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", e.Port)
}

// roleExists reports whether a PostgreSQL role exists.
func (e *pgEnv) roleExists(t testing.TB, name string) bool {
	t.Helper()
	var n int
	must(t, e.super.QueryRow(`SELECT count(*) FROM pg_roles WHERE rolname = $1`, name).Scan(&n))
	return n > 0
}

const seedCreation = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`

func TestPostgresDynamicCreds(t *testing.T) {
	pg := startPG(t)
	srv, auditPath := newServer(t)
	c := srv.Client

	// A wrong admin password: 400 with the database's message, no secret,
	// nothing stored.
	_, err := c.Logical().Write("database/config/postgresql", map[string]any{
		"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
		"connection_url": pg.connURL(), "username": "vault", "password": "wrong-Canary-pw",
	})
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "password authentication failed") || strings.Contains(err.Error(), "wrong-Canary-pw") {
		t.Fatalf("bad password config: %v", err)
	}
	if s, err := c.Logical().Read("database/config/postgresql"); s != nil || err != nil {
		t.Fatalf("a failed config was stored: %v %v", s, err)
	}

	write(t, c, "database/config/postgresql", map[string]any{
		"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
		"connection_url": pg.connURL(), "username": "vault", "password": "vaultpass",
	})
	cfg := read(t, c, "database/config/postgresql")
	if _, ok := cfg.Data["password"]; ok || strings.Contains(fmt.Sprint(cfg.Data), "vaultpass") {
		t.Fatalf("config read shows the password: %v", cfg.Data)
	}
	if d := cfg.Data["connection_details"].(map[string]any); d["username"] != "vault" || d["connection_url"] != pg.connURL() {
		t.Fatalf("connection_details %v", d)
	}
	list, err := c.Logical().List("database/config")
	must(t, err)
	if fmt.Sprint(list.Data["keys"]) != "[postgresql]" {
		t.Fatalf("list config: %v", list.Data)
	}
	write(t, c, "database/reset/postgresql", nil)

	write(t, c, "database/roles/my-app", map[string]any{
		"db_name": "postgresql", "creation_statements": seedCreation, "default_ttl": "1h", "max_ttl": "24h",
	})
	role := read(t, c, "database/roles/my-app")
	if n := len(role.Data["creation_statements"].([]any)); n != 2 || role.Data["default_ttl"].(any) == nil {
		t.Fatalf("role %v", role.Data)
	}

	creds := read(t, c, "database/creds/my-app")
	user, pw := creds.Data["username"].(string), creds.Data["password"].(string)
	if creds.LeaseID == "" || !creds.Renewable || creds.LeaseDuration != 3600 || !strings.HasPrefix(creds.LeaseID, "database/creds/my-app/") {
		t.Fatalf("creds lease: %+v", creds)
	}
	// The user can do exactly what it was granted.
	db, err := sql.Open("pgx", pg.url(user, pw))
	must(t, err)
	defer db.Close()
	var name string
	must(t, db.QueryRow(`SELECT name FROM items WHERE id = 1`).Scan(&name))
	if _, err := db.Exec(`INSERT INTO items VALUES (2, 'two')`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("insert by a SELECT-only user: %v", err)
	}
	if err := canLogin("pgx", pg.url(user, "not-"+pw)); err == nil {
		t.Fatal("a wrong password logged in")
	}

	// Renewal.
	renewed, err := c.Sys().Renew(creds.LeaseID, 600)
	must(t, err)
	if renewed.LeaseDuration != 600 {
		t.Fatalf("renew: %+v", renewed)
	}

	// sys/leases/lookup lists it.
	leases, err := c.Logical().List("sys/leases/lookup/database/creds/my-app")
	must(t, err)
	if !strings.Contains(fmt.Sprint(leases.Data["keys"]), strings.TrimPrefix(creds.LeaseID, "database/creds/my-app/")) {
		t.Fatalf("lease list: %v", leases.Data)
	}

	// Revoke: the open session ends, the user is gone, it cannot log in.
	must(t, c.Sys().Revoke(creds.LeaseID))
	if pg.roleExists(t, user) {
		t.Fatal("user still exists after lease revoke")
	}
	if err := canLogin("pgx", pg.url(user, pw)); err == nil {
		t.Fatal("revoked user can still log in")
	}
	if err := db.QueryRow(`SELECT name FROM items WHERE id = 1`).Scan(&name); err == nil {
		t.Fatal("revoked user's open session still works")
	}

	// Expiry with no call.
	write(t, c, "database/roles/short", map[string]any{
		"db_name": "postgresql", "creation_statements": seedCreation, "default_ttl": "2s", "max_ttl": "1h",
	})
	short := read(t, c, "database/creds/short")
	shortUser := short.Data["username"].(string)
	if !pg.roleExists(t, shortUser) {
		t.Fatal("short-lived user not created")
	}
	eventually(t, 30*time.Second, "expired user dropped", func() bool { return !pg.roleExists(t, shortUser) })

	// Unknown role, role not allowed, bad statements.
	if _, err := c.Logical().Read("database/creds/nope"); status(err) != http.StatusBadRequest {
		t.Fatalf("unknown role: %v", err)
	}
	write(t, c, "database/roles/bad", map[string]any{"db_name": "postgresql", "creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' BOGUS;`})
	_, err = c.Logical().Read("database/creds/bad")
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "SQLSTATE 42601") {
		t.Fatalf("bad statements: %v", err)
	}
	write(t, c, "database/config/postgresql", map[string]any{"allowed_roles": "other"})
	if _, err := c.Logical().Read("database/creds/my-app"); status(err) != http.StatusBadRequest {
		t.Fatalf("role not allowed: %v", err)
	}

	noSecret(t, auditPath, pw, "vaultpass", "wrong-Canary-pw")

	// Delete.
	_, err = c.Logical().Delete("database/config/postgresql")
	must(t, err)
	if s, _ := c.Logical().Read("database/config/postgresql"); s != nil {
		t.Fatal("config still there after delete")
	}
}

func TestPostgresRotateRoot(t *testing.T) {
	pg := startPG(t)
	srv, auditPath := newServer(t)
	c := srv.Client
	write(t, c, "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
		"connection_url": pg.connURL(), "username": "vault", "password": "vaultpass",
	})
	must(t, canLogin("pgx", pg.url("vault", "vaultpass")))
	write(t, c, "database/rotate-root/pg", nil)
	if err := canLogin("pgx", pg.url("vault", "vaultpass")); err == nil {
		t.Fatal("the old admin password still works after rotate-root")
	}
	// Tresor still works with the new one.
	write(t, c, "database/roles/r", map[string]any{"db_name": "pg", "creation_statements": seedCreation})
	creds := read(t, c, "database/creds/r")
	must(t, canLogin("pgx", pg.url(creds.Data["username"].(string), creds.Data["password"].(string))))
	must(t, c.Sys().Revoke(creds.LeaseID))

	// Sealing closes the pools; after unseal the engine reconnects with
	// the rotated password it stored.
	must(t, c.Sys().Seal())
	eventually(t, 30*time.Second, "connections closed on seal", func() bool {
		var n int
		must(t, pg.super.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = 'vault'`).Scan(&n))
		return n == 0
	})
	if _, err := c.Sys().Unseal(srv.UnsealKeys[0]); err != nil {
		t.Fatal(err)
	}
	again := read(t, c, "database/creds/r")
	must(t, canLogin("pgx", pg.url(again.Data["username"].(string), again.Data["password"].(string))))
	noSecret(t, auditPath, "vaultpass")
}

func TestPostgresStaticRole(t *testing.T) {
	pg := startPG(t)
	srv, _ := newServer(t)
	c := srv.Client
	write(t, c, "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
		"connection_url": pg.connURL(), "username": "vault", "password": "vaultpass",
	})
	if _, err := c.Logical().Write("database/static-roles/s", map[string]any{"db_name": "pg", "username": "static_user", "rotation_period": "1s"}); status(err) != http.StatusBadRequest {
		t.Fatalf("rotation_period under 5s: %v", err)
	}
	write(t, c, "database/static-roles/s", map[string]any{"db_name": "pg", "username": "static_user", "rotation_period": "5s"})
	if err := canLogin("pgx", pg.url("static_user", "initial-Pw-1")); err == nil {
		t.Fatal("the initial password still works after the static role took the user")
	}
	first := read(t, c, "database/static-creds/s")
	pw1 := first.Data["password"].(string)
	if first.Data["username"] != "static_user" || first.Data["rotation_period"] == nil || first.Data["last_vault_rotation"] == "" {
		t.Fatalf("static-creds %v", first.Data)
	}
	must(t, canLogin("pgx", pg.url("static_user", pw1)))

	// On schedule.
	var pw2 string
	eventually(t, 30*time.Second, "static password rotated on schedule", func() bool {
		pw2 = read(t, c, "database/static-creds/s").Data["password"].(string)
		return pw2 != pw1
	})
	must(t, canLogin("pgx", pg.url("static_user", pw2)))
	if err := canLogin("pgx", pg.url("static_user", pw1)); err == nil {
		t.Fatal("the previous static password still works")
	}

	// A cron schedule instead of a period.
	write(t, c, "database/static-roles/s", map[string]any{"rotation_schedule": "*/30 * * * *"})
	sched := read(t, c, "database/static-roles/s")
	if sched.Data["rotation_schedule"] != "*/30 * * * *" || sched.Data["rotation_period"] != nil {
		t.Fatalf("static role with a schedule: %v", sched.Data)
	}
	if ttl, _ := read(t, c, "database/static-creds/s").Data["ttl"].(json.Number).Int64(); ttl > 30*60 {
		t.Fatalf("ttl %d beyond the next half hour", ttl)
	}

	// On demand.
	write(t, c, "database/rotate-role/s", nil)
	pw3 := read(t, c, "database/static-creds/s").Data["password"].(string)
	if pw3 == pw2 {
		// a scheduled rotation may have run in between; still a change
		t.Fatal("rotate-role did not change the password")
	}
	must(t, canLogin("pgx", pg.url("static_user", read(t, c, "database/static-creds/s").Data["password"].(string))))
}

// TestPostgresRestartAndOutage: leases outlive a Tresor restart (a user
// whose lease expired while Tresor was down is dropped after unseal, one
// issued before is revoked after), and a revocation that fails while the
// database is down is retried until it is back.
func TestPostgresRestartAndOutage(t *testing.T) {
	pg := startPG(t)
	dir := t.TempDir()
	c, key, root, stop := persistentServer(t, dir, "", "")
	must(t, c.Sys().Mount("database", &api.MountInput{Type: "database"}))
	write(t, c, "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
		"connection_url": pg.connURL(), "username": "vault", "password": "vaultpass",
	})
	write(t, c, "database/roles/short", map[string]any{"db_name": "pg", "creation_statements": seedCreation, "default_ttl": "3s"})
	write(t, c, "database/roles/long", map[string]any{"db_name": "pg", "creation_statements": seedCreation, "default_ttl": "1h"})
	short := read(t, c, "database/creds/short")
	long := read(t, c, "database/creds/long")
	shortUser, longUser := short.Data["username"].(string), long.Data["username"].(string)
	write(t, c, "database/static-roles/s", map[string]any{"db_name": "pg", "username": "static_user", "rotation_period": "6s"})
	staticPw := read(t, c, "database/static-creds/s").Data["password"].(string)
	stop()

	// Past the short lease's expiry while Tresor is down.
	time.Sleep(4 * time.Second)
	if !pg.roleExists(t, shortUser) {
		t.Fatal("user dropped while Tresor was down?")
	}
	c, _, _, stop = persistentServer(t, dir, key, root)
	defer stop()
	eventually(t, 30*time.Second, "user of a lease that expired during the restart dropped", func() bool { return !pg.roleExists(t, shortUser) })
	must(t, c.Sys().Revoke(long.LeaseID))
	if pg.roleExists(t, longUser) {
		t.Fatal("user of a lease issued before the restart survives its revoke")
	}
	// The static role's schedule survived: its password changes, and the
	// new one works.
	var newPw string
	eventually(t, 30*time.Second, "static role rotated after the restart", func() bool {
		newPw = read(t, c, "database/static-creds/s").Data["password"].(string)
		return newPw != staticPw
	})
	must(t, canLogin("pgx", pg.url("static_user", newPw)))

	// Database down: creds answer a clear 400 without secrets; an expiring
	// lease's revocation is retried once the database is back.
	doomed := read(t, c, "database/creds/short")
	doomedUser := doomed.Data["username"].(string)
	pg.Stop(t)
	_, err := c.Logical().Read("database/creds/long")
	if status(err) != http.StatusBadRequest || strings.Contains(err.Error(), "vaultpass") || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("creds with the database down: %v", err)
	}
	time.Sleep(5 * time.Second) // the lease expires and its revocation fails
	pg.Restart(t)
	eventually(t, 60*time.Second, "revocation retried after the database came back", func() bool { return !pg.roleExists(t, doomedUser) })

	// Unmount: the users of its leases are dropped and its pools closed.
	last := read(t, c, "database/creds/long").Data["username"].(string)
	must(t, c.Sys().Unmount("database"))
	if pg.roleExists(t, last) {
		t.Fatal("user survives the unmount of its engine")
	}
	eventually(t, 30*time.Second, "connections closed after unmount", func() bool {
		var n int
		must(t, pg.super.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = 'vault'`).Scan(&n))
		return n == 0
	})
}
