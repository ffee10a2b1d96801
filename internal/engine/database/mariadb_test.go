package database_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/tresorhq/tresor/internal/engine/database/mariadbtest"
)

const mysqlCreation = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON app.* TO '{{name}}'@'%';`

// mysqlUserExists reports whether a MariaDB account exists.
func mysqlUserExists(t testing.TB, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	must(t, db.QueryRow(`SELECT count(*) FROM mysql.user WHERE User = ?`, name).Scan(&n))
	return n > 0
}

func TestMariaDB(t *testing.T) {
	my := mariadbtest.Start(t)
	admin, err := sql.Open("mysql", "root@unix("+my.Socket+")/") // survives rotate-root
	must(t, err)
	defer admin.Close()
	_, err = admin.Exec(`CREATE USER 'static_user'@'%' IDENTIFIED BY 'initial-Pw-1'`)
	must(t, err)

	srv, auditPath := newServer(t)
	c := srv.Client
	connURL := "{{username}}:{{password}}@tcp(" + my.Addr + ")/"

	_, err = c.Logical().Write("database/config/my", map[string]any{
		"plugin_name": "mysql-database-plugin", "allowed_roles": "*",
		"connection_url": connURL, "username": my.Admin, "password": "wrong-Canary-pw",
	})
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Access denied") || strings.Contains(err.Error(), "wrong-Canary-pw") {
		t.Fatalf("bad password config: %v", err)
	}
	write(t, c, "database/config/my", map[string]any{
		"plugin_name": "mysql-database-plugin", "allowed_roles": "*",
		"connection_url": connURL, "username": my.Admin, "password": my.Password,
	})

	// Dynamic users: exactly the grant, then gone on revoke and on expiry.
	write(t, c, "database/roles/app", map[string]any{"db_name": "my", "creation_statements": mysqlCreation, "default_ttl": "1h"})
	creds := read(t, c, "database/creds/app")
	user, pw := creds.Data["username"].(string), creds.Data["password"].(string)
	if len(user) > 32 || !creds.Renewable {
		t.Fatalf("creds %+v", creds)
	}
	db, err := sql.Open("mysql", my.DSN(user, pw, "app"))
	must(t, err)
	defer db.Close()
	var name string
	must(t, db.QueryRow(`SELECT name FROM items WHERE id = 1`).Scan(&name))
	if _, err := db.Exec(`INSERT INTO items VALUES (2, 'two')`); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("insert by a SELECT-only user: %v", err)
	}
	_, err = c.Sys().Renew(creds.LeaseID, 600)
	must(t, err)
	must(t, c.Sys().Revoke(creds.LeaseID))
	if mysqlUserExists(t, admin, user) {
		t.Fatal("user still exists after lease revoke")
	}
	if err := canLogin("mysql", my.DSN(user, pw, "")); err == nil {
		t.Fatal("revoked user can still log in")
	}

	write(t, c, "database/roles/short", map[string]any{"db_name": "my", "creation_statements": mysqlCreation, "default_ttl": "2s"})
	short := read(t, c, "database/creds/short").Data["username"].(string)
	eventually(t, 30*time.Second, "expired user dropped", func() bool { return !mysqlUserExists(t, admin, short) })

	// Custom revocation statements are used.
	write(t, c, "database/roles/custom", map[string]any{"db_name": "my", "creation_statements": mysqlCreation,
		"revocation_statements": []string{"REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'", "DROP USER '{{name}}'@'%'"}})
	cc := read(t, c, "database/creds/custom")
	must(t, c.Sys().Revoke(cc.LeaseID))
	if mysqlUserExists(t, admin, cc.Data["username"].(string)) {
		t.Fatal("custom revocation did not drop the user")
	}

	// Static role.
	write(t, c, "database/static-roles/s", map[string]any{"db_name": "my", "username": "static_user", "rotation_period": "5s"})
	if err := canLogin("mysql", my.DSN("static_user", "initial-Pw-1", "")); err == nil {
		t.Fatal("the initial password still works after the static role took the user")
	}
	pw1 := read(t, c, "database/static-creds/s").Data["password"].(string)
	must(t, canLogin("mysql", my.DSN("static_user", pw1, "")))
	var pw2 string
	eventually(t, 30*time.Second, "static password rotated on schedule", func() bool {
		pw2 = read(t, c, "database/static-creds/s").Data["password"].(string)
		return pw2 != pw1
	})
	must(t, canLogin("mysql", my.DSN("static_user", pw2, "")))

	// rotate-root: the old admin password stops working; Tresor goes on.
	write(t, c, "database/rotate-root/my", nil)
	if err := canLogin("mysql", my.DSN(my.Admin, my.Password, "")); err == nil {
		t.Fatal("the old admin password still works after rotate-root")
	}
	after := read(t, c, "database/creds/app")
	must(t, canLogin("mysql", my.DSN(after.Data["username"].(string), after.Data["password"].(string), "")))

	// Database down: clear error, no secret; revocation retried.
	my.Stop(t)
	_, err = c.Logical().Read("database/creds/app")
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("creds with the database down: %v", err)
	}
	if err := c.Sys().Revoke(after.LeaseID); err == nil {
		t.Fatal("revoke with the database down succeeded")
	}
	my.Restart(t)
	must(t, c.Sys().Revoke(after.LeaseID))
	if mysqlUserExists(t, admin, after.Data["username"].(string)) {
		t.Fatal("user survives a revoke retried after the outage")
	}
	noSecret(t, auditPath, pw, pw1, pw2, my.Password, "wrong-Canary-pw")
}
