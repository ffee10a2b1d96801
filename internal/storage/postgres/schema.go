package postgres

import (
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/pgsql"
)

// ensureTable creates table with Vault's documented schema unless a
// relation of that name already exists; an existing table is used as it
// is, so a Vault operator's table (and its privileges) stays untouched.
func (s *Store) ensureTable(ctx context.Context, table string) error {
	exists, err := s.tableExists(ctx, table)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	// Vault's documentation names the primary key "pkey" and the index
	// "parent_path_idx"; both live in the schema's namespace, so tables
	// other than the default get names of their own.
	pkey, idx := "pkey", "parent_path_idx"
	if table != DefaultTable {
		pkey, idx = table+"_pkey", table+"_parent_path_idx"
	}
	t := pgsql.QuoteIdent(table)
	create := `CREATE TABLE IF NOT EXISTS ` + t + ` (
		parent_path TEXT COLLATE "C" NOT NULL,
		path        TEXT COLLATE "C",
		key         TEXT COLLATE "C",
		value       BYTEA,
		CONSTRAINT ` + pgsql.QuoteIdent(pkey) + ` PRIMARY KEY (path, key)
	)`
	index := `CREATE INDEX IF NOT EXISTS ` + pgsql.QuoteIdent(idx) + ` ON ` + t + ` (parent_path)`
	err = s.pool.Tx(ctx, "BEGIN", func(c *pgsql.Conn) error {
		if _, err := c.ExecSimple(ctx, create); err != nil {
			return err
		}
		_, err := c.ExecSimple(ctx, index)
		return err
	})
	if err != nil {
		// Another server may have created it at the same moment.
		if exists, _ := s.tableExists(ctx, table); exists {
			return nil
		}
		return fmt.Errorf("storage/postgres: create table %s: %w", t, err)
	}
	return nil
}

// tableExists reports whether table names a relation on the search path.
// It is also Open's first round trip, so connection failures surface here.
func (s *Store) tableExists(ctx context.Context, table string) (bool, error) {
	var exists bool
	_, err := s.pool.Query(ctx, `SELECT to_regclass($1) IS NOT NULL`, []any{pgsql.QuoteIdent(table)}, func(row [][]byte) error {
		exists = string(row[0]) == "t"
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("storage/postgres: connect and look up table %q: %w", table, err)
	}
	return exists, nil
}
