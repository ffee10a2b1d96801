package database

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql" // the "mysql" database/sql driver

	"github.com/tresorhq/tresor/internal/pgsql"
)

// dialect is what differs between the database plugins: the driver, how
// the connection URL takes the credentials, the username limits and the
// statements run when a role gives none.
type dialect struct {
	// driver is the database/sql driver's name, "postgres" for pgsql's
	// connector.
	driver string
	// maxUsername is the longest user name the database accepts.
	maxUsername int
	// usernameTemplate is the default username_template.
	usernameTemplate string
	// expiration formats {{expiration}}.
	expiration string
	// revoke drops a user when the role has no revocation statements.
	revoke func(ctx context.Context, db *sql.DB, username string) error
	// renew, rotate and rotateRoot are the default renew statements, the
	// default password change of a static role and of the admin user.
	renew, rotate, rotateRoot []string
}

// dialects maps each supported plugin_name to its dialect.
var dialects = map[string]*dialect{
	"postgresql-database-plugin": {
		driver: "postgres", maxUsername: 63, expiration: "2006-01-02 15:04:05-0700",
		usernameTemplate: `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}`,
		revoke:           pgRevoke,
		renew:            []string{`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`},
		rotate:           []string{`ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}'`},
		rotateRoot:       []string{`ALTER ROLE CURRENT_USER WITH PASSWORD '{{password}}'`},
	},
	"mysql-database-plugin":        mysqlDialect(32, `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}`),
	"mysql-aurora-database-plugin": mysqlDialect(16, `{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}`),
	"mysql-rds-database-plugin":    mysqlDialect(16, `{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}`),
	"mysql-legacy-database-plugin": mysqlDialect(16, `{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}`),
}

func mysqlDialect(maxUsername int, tpl string) *dialect {
	return &dialect{
		driver: "mysql", maxUsername: maxUsername, expiration: "2006-01-02 15:04:05",
		usernameTemplate: tpl,
		revoke:           mysqlRevoke,
		rotate:           []string{`ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`},
		rotateRoot:       []string{`ALTER USER '{{username}}'@'{{host}}' IDENTIFIED BY '{{password}}'`},
	}
}

// pluginNames lists the supported plugin names, for error messages.
func pluginNames() string {
	return "postgresql-database-plugin, mysql-database-plugin, mysql-aurora-database-plugin, mysql-rds-database-plugin, mysql-legacy-database-plugin"
}

// dsn puts the admin credentials into the connection URL's {{username}}
// and {{password}}. In a URL they are escaped as userinfo; in a key=value
// or MySQL DSN they go in as they are.
func dsn(connURL, username, password string) string {
	lower := strings.ToLower(connURL)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		username = url.User(username).String()
		password = strings.TrimPrefix(url.UserPassword("", password).String(), ":")
	}
	r := strings.NewReplacer("{{username}}", username, "{{password}}", password)
	return r.Replace(connURL)
}

// open returns a pool for c; it connects lazily.
func open(c *connConfig) (*sql.DB, *dialect, error) {
	d := dialects[c.PluginName]
	if d == nil {
		return nil, nil, fmt.Errorf("unknown plugin %q", c.PluginName)
	}
	var db *sql.DB
	if d.driver == "postgres" {
		cfg, err := pgsql.ParseConfig(dsn(c.ConnectionURL, c.Username, c.Password))
		if err != nil {
			return nil, nil, fmt.Errorf("connection_url %w", err)
		}
		db = pgsql.OpenDB(cfg)
	} else {
		var err error
		if db, err = sql.Open(d.driver, dsn(c.ConnectionURL, c.Username, c.Password)); err != nil {
			return nil, nil, err
		}
	}
	maxOpen := c.MaxOpenConnections
	if maxOpen <= 0 {
		maxOpen = 4
	}
	db.SetMaxOpenConns(maxOpen)
	maxIdle := c.MaxIdleConnections
	if maxIdle <= 0 || maxIdle > maxOpen {
		maxIdle = maxOpen
	}
	db.SetMaxIdleConns(maxIdle)
	db.SetConnMaxLifetime(c.MaxConnectionLifetime)
	return db, d, nil
}

// placeholder matches {{name}}, {{ password }} and the like.
var placeholder = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// render fills a statement's placeholders from vars; unknown ones stay.
func render(stmt string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(stmt, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// splitStatements turns the statements as given (a list, each element
// possibly several statements separated by ";") into single statements.
// An element holding a dollar-quoted body ($$) is kept whole.
func splitStatements(in []string) []string {
	var out []string
	for _, s := range in {
		if strings.Contains(s, "$$") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
			continue
		}
		for part := range strings.SplitSeq(s, ";") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// execAll runs stmts, rendered with vars, in one transaction. A
// transaction that lost a race with a concurrent one (PostgreSQL's
// "tuple concurrently updated" when two GRANTs change one table's ACL, a
// deadlock, a serialization failure) was rolled back whole and is retried
// a few times.
func execAll(ctx context.Context, db *sql.DB, stmts []string, vars map[string]string) error {
	var err error
	for attempt := range 20 {
		if err = execOnce(ctx, db, stmts, vars); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+mrand.IntN(5*(attempt+1))) * time.Millisecond):
		}
	}
	return err
}

// transient reports whether err is a lost race worth retrying.
func transient(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "tuple concurrently updated") || strings.Contains(msg, "SQLSTATE 40001") ||
		strings.Contains(msg, "SQLSTATE 40P01") || strings.Contains(msg, "Error 1213") // MySQL deadlock
}

func execOnce(ctx context.Context, db *sql.DB, stmts []string, vars map[string]string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, render(s, vars)); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString quotes a SQL string literal (PostgreSQL and MySQL with its
// default sql_mode).
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// pgRevoke ends the user's sessions, takes back its privileges in every
// schema and on the database, and drops it. A user already gone is not an
// error, so a retried revocation succeeds. It costs two or three round
// trips: one lookup, the sessions' end if it has any, and the statements
// sent together (PostgreSQL runs a multi-statement message as one
// transaction).
func pgRevoke(ctx context.Context, db *sql.DB, username string) error {
	var exists, sessions int
	var dbName string
	var schemas sql.NullString
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM pg_roles WHERE rolname = $1),
		(SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()),
		quote_ident(current_database()),
		(SELECT string_agg(quote_ident(nspname), ',') FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema')`,
		username).Scan(&exists, &sessions, &dbName, &schemas)
	if err != nil {
		return err
	}
	if exists == 0 {
		return nil
	}
	if sessions > 0 {
		// Best effort: it needs pg_signal_backend, which the admin may lack.
		_, _ = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`, username)
	}
	u := quoteIdent(username)
	stmts := []string{"REVOKE ALL PRIVILEGES ON DATABASE " + dbName + " FROM " + u}
	if schemas.Valid {
		for q := range strings.SplitSeq(schemas.String, ",") {
			stmts = append(stmts,
				"REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA "+q+" FROM "+u,
				"REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA "+q+" FROM "+u,
				"REVOKE ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA "+q+" FROM "+u,
				"REVOKE USAGE ON SCHEMA "+q+" FROM "+u,
			)
		}
	}
	stmts = append(stmts, "DROP ROLE IF EXISTS "+u)
	err = execBatch(ctx, db, strings.Join(stmts, ";\n"))
	if err == nil {
		return nil
	}
	// Objects it owns or default privileges keep a role alive; hand them
	// to the admin (which needs membership, as a superuser has) and retry.
	if err2 := execBatch(ctx, db, "REASSIGN OWNED BY "+u+" TO CURRENT_USER;\nDROP OWNED BY "+u+";\nDROP ROLE IF EXISTS "+u); err2 != nil {
		return err
	}
	return nil
}

// execBatch sends several ";"-separated statements, without parameters,
// as one message, retrying lost races like execAll.
func execBatch(ctx context.Context, db *sql.DB, batch string) error {
	var err error
	for attempt := range 20 {
		if _, err = db.ExecContext(ctx, batch); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+mrand.IntN(5*(attempt+1))) * time.Millisecond):
		}
	}
	return err
}

// mysqlRevoke ends the user's sessions and drops it ('name'@'%').
func mysqlRevoke(ctx context.Context, db *sql.DB, username string) error {
	rows, err := db.QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?`, username)
	if err == nil {
		var ids []int64
		for rows.Next() {
			var id int64
			if rows.Scan(&id) == nil {
				ids = append(ids, id)
			}
		}
		rows.Close()
		for _, id := range ids {
			_, _ = db.ExecContext(ctx, fmt.Sprintf("KILL %d", id)) // best effort
		}
	}
	_, err = db.ExecContext(ctx, "DROP USER IF EXISTS "+quoteString(username)+"@'%'")
	return err
}

// expirationString formats t for {{expiration}}.
func (d *dialect) expirationString(t time.Time) string {
	return t.UTC().Format(d.expiration)
}

// quietDriver sends the MySQL driver's own messages (a dropped idle
// connection and the like; never credentials) to the first mounted
// backend's logger instead of the process's stderr. The driver keeps one
// logger per process.
var quietDriver sync.Once

type driverLog struct{ l *slog.Logger }

func (d driverLog) Print(v ...any) { d.l.Debug("mysql driver", "message", fmt.Sprint(v...)) }

func routeDriverLogs(l *slog.Logger) {
	quietDriver.Do(func() { _ = mysql.SetLogger(driverLog{l}) })
}
