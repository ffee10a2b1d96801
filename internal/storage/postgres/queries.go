package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/pgsql"
	"github.com/tresorhq/tresor/internal/storage"
)

// queries holds the SQL for one table, built once with the table name
// quoted.
type queries struct {
	getSQL, putSQL, deleteSQL, listLeavesSQL, listFoldersSQL string
}

func newQueries(table string) queries {
	t := pgsql.QuoteIdent(table)
	return queries{
		getSQL: `SELECT value FROM ` + t + ` WHERE path = $1 AND key = $2`,
		putSQL: `INSERT INTO ` + t + ` (parent_path, path, key, value) VALUES ($1, $2, $3, $4)
			ON CONFLICT (path, key) DO UPDATE SET value = EXCLUDED.value`,
		deleteSQL: `DELETE FROM ` + t + ` WHERE path = $1 AND key = $2`,
		// Leaves directly in the prefix's folder whose name starts with
		// the rest of the prefix; served by the primary key.
		listLeavesSQL: `SELECT key FROM ` + t + ` WHERE path = $1 AND key LIKE $2`,
		// Deeper rows: every one has a parent_path under the prefix's
		// folder (the parent_path index), and contributes the name
		// between the prefix and the next slash. $3 is "/" + prefix.
		listFoldersSQL: `SELECT DISTINCT split_part(substr(path, char_length($3) + 1), '/', 1) || '/'
			FROM ` + t + ` WHERE parent_path LIKE $1 AND path LIKE $2 AND path <> $4`,
	}
}

func (q queries) get(ctx context.Context, db querier, key string) (*storage.Entry, error) {
	r := splitKey(key)
	var value []byte // non-nil once found; a NULL value reads as empty
	_, err := db.Query(ctx, q.getSQL, []any{r.path, r.name}, func(row [][]byte) error {
		value = append([]byte{}, row[0]...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage/postgres: get %q: %w", key, err)
	}
	if value == nil {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: value}, nil
}

func (q queries) put(ctx context.Context, db querier, e *storage.Entry) error {
	r := splitKey(e.Key)
	value := e.Value
	if value == nil {
		value = []byte{} // NULL would read back as a missing value
	}
	if _, err := db.Exec(ctx, q.putSQL, r.parent, r.path, r.name, value); err != nil {
		return fmt.Errorf("storage/postgres: put %q: %w", e.Key, err)
	}
	return nil
}

func (q queries) delete(ctx context.Context, db querier, key string) error {
	r := splitKey(key)
	if _, err := db.Exec(ctx, q.deleteSQL, r.path, r.name); err != nil {
		return fmt.Errorf("storage/postgres: delete %q: %w", key, err)
	}
	return nil
}

// list accepts any raw prefix, not only folders: the prefix is split at
// its last slash into a folder ("b/") and a partial name ("a" of "b/a").
func (q queries) list(ctx context.Context, db querier, prefix string) ([]string, error) {
	i := strings.LastIndexByte(prefix, '/')
	dir, rest := "/"+prefix[:i+1], prefix[i+1:]
	var names []string
	leaves, err := collect(ctx, db, q.listLeavesSQL, dir, likePrefix(rest))
	if err != nil {
		return nil, fmt.Errorf("storage/postgres: list %q: %w", prefix, err)
	}
	for _, k := range leaves {
		names = append(names, k[len(rest):])
	}
	folders, err := collect(ctx, db, q.listFoldersSQL, likePrefix(dir), likePrefix("/"+prefix), "/"+prefix, dir)
	if err != nil {
		return nil, fmt.Errorf("storage/postgres: list %q: %w", prefix, err)
	}
	names = append(names, folders...)
	// Byte order, like every other backend; leaves never contain "/" and
	// folders always end in one, so the two queries cannot duplicate.
	slices.Sort(names)
	return names, nil
}

// collect runs a query returning one text column.
func collect(ctx context.Context, db querier, sql string, args ...any) ([]string, error) {
	var out []string
	_, err := db.Query(ctx, sql, args, func(row [][]byte) error {
		out = append(out, string(row[0]))
		return nil
	})
	return out, err
}
