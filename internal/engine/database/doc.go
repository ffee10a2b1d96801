// Package database is the database secrets engine: it creates short-lived
// database users on demand and drops them when their lease ends, and it
// rotates the passwords of existing users on a schedule.
//
// Configure a connection, a role, then read credentials:
//
//	vault secrets enable database
//	vault write database/config/pg plugin_name=postgresql-database-plugin \
//	    connection_url='postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres' \
//	    username=vault password=… allowed_roles='*'
//	vault write database/roles/app db_name=pg default_ttl=1h max_ttl=24h \
//	    creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
//	vault read database/creds/app
//
// Each credential carries a renewable lease. When the lease is revoked or
// expires, the core calls RevokeSecret, which runs the role's revocation
// statements (by default: end the user's sessions, take back its
// privileges, drop it); a failed revocation is retried by the lease
// manager with backoff.
//
// Plugins: postgresql-database-plugin (internal/pgsql, on pgx's pgconn) and the mysql family
// (mysql-database-plugin, mysql-aurora-database-plugin,
// mysql-rds-database-plugin, mysql-legacy-database-plugin; go-sql-driver).
// One connection pool per configured connection, opened on first use and
// closed when the configuration changes, the mount goes away or the core
// seals.
//
// # Storage layout (in the mount's view)
//
//	config/<name>         connection, with its admin password
//	role/<name>           dynamic role
//	static-role/<name>    static role, with the current password
//
// # Secrets
//
// Passwords appear only in responses. Every error that may carry database
// text goes through redact, which removes the connection's password, the
// generated password and the connection URL.
package database
