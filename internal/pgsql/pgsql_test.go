package pgsql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

func TestEncode(t *testing.T) {
	when := time.Date(2026, 11, 30, 8, 1, 2, 300, time.UTC)
	cases := []struct {
		name   string
		arg    any
		oid    uint32
		want   []byte
		format int16
	}{
		{"null", nil, 25, nil, 0},
		{"bytes as bytea are raw", []byte{0, 1, 0xff}, byteaOID, []byte{0, 1, 0xff}, 1},
		{"nil bytes are NULL, as in pgx", []byte(nil), byteaOID, nil, 0},
		{"empty bytes are empty, not NULL", []byte{}, byteaOID, []byte{}, 1},
		{"string as bytea is raw", "a\x00b", byteaOID, []byte("a\x00b"), 1},
		{"string as text", "héllo", 25, []byte("héllo"), 0},
		{"bytes as text", []byte("abc"), 25, []byte("abc"), 0},
		{"int64", int64(-42), 20, []byte("-42"), 0},
		{"int", 3000, 0, []byte("3000"), 0},
		{"int32", int32(7), 23, []byte("7"), 0},
		{"float64", 2.5, 701, []byte("2.5"), 0},
		{"true", true, 16, []byte("t"), 0},
		{"false", false, 16, []byte("f"), 0},
		{"time", when, 1184, []byte("2026-11-30 08:01:02.0000003Z"), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, format, err := encode(tc.arg, tc.oid)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) || format != tc.format {
				t.Errorf("encode(%#v) = %q (nil %v) format %d, want %q (nil %v) format %d",
					tc.arg, got, got == nil, format, tc.want, tc.want == nil, tc.format)
			}
		})
	}
	if _, _, err := encode(struct{}{}, 25); err == nil {
		t.Error("a struct was encoded")
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"vault_kv_store":   `"vault_kv_store"`,
		`we"ird`:           `"we""ird"`,
		"nul\x00byte":      `"nulbyte"`,
		`"; DROP TABLE x;`: `"""; DROP TABLE x;"`,
		"":                 `""`,
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestPostgres runs the client against a real server: one start-up for
// every subtest.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	cfg, err := ParseConfig(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPool(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (b bytea, s text, n int8, f bool, PRIMARY KEY (s))`); err != nil {
		t.Fatal(err)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		bin := []byte{0, 1, 2, 0xfe, 0xff}
		tag, err := pool.Exec(ctx, `INSERT INTO t VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)`,
			bin, "one", int64(1)<<40, true, nil, "two", nil, false)
		if err != nil || tag.RowsAffected() != 2 {
			t.Fatalf("insert: %v %v", tag, err)
		}
		var rows [][]string
		_, err = pool.Query(ctx, `SELECT b, s, n, f FROM t WHERE s = ANY($1) ORDER BY s`, []any{"{one,two}"}, func(row [][]byte) error {
			var r []string
			for _, v := range row {
				if v == nil {
					r = append(r, "NULL")
				} else {
					r = append(r, fmt.Sprintf("%q", v))
				}
			}
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{`"\x00\x01\x02\xfe\xff"`, `"one"`, `"1099511627776"`, `"t"`},
			{"NULL", `"two"`, "NULL", `"f"`},
		}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("rows = %v, want %v", rows, want)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		if _, err := pool.Exec(ctx, `SELECT $1::int`); err == nil || !strings.Contains(err.Error(), "takes 1 arguments, got 0") {
			t.Errorf("missing argument: %v", err)
		}
		_, err := pool.Exec(ctx, `INSERT INTO t (s) VALUES ($1)`, "one")
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Errorf("duplicate key: %v", err)
		}
		wantErr := errors.New("stop")
		_, err = pool.Query(ctx, `SELECT s FROM t`, nil, func([][]byte) error { return wantErr })
		if !errors.Is(err, wantErr) {
			t.Errorf("row error: %v", err)
		}
		// The connections are still usable after every one of these.
		for range 8 {
			if _, err := pool.Exec(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("Tx", func(t *testing.T) {
		count := func() int {
			n := 0
			if _, err := pool.Query(ctx, `SELECT s FROM t WHERE s LIKE 'tx%'`, nil, func([][]byte) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		failed := errors.New("fn failed")
		err := pool.Tx(ctx, "BEGIN", func(c *Conn) error {
			if _, err := c.Exec(ctx, `INSERT INTO t (s) VALUES ($1)`, "tx-rolled-back"); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) || count() != 0 {
			t.Fatalf("failed fn: %v, %d rows", err, count())
		}
		// A statement failed inside; fn hides it: COMMIT rolls back.
		err = pool.Tx(ctx, "BEGIN", func(c *Conn) error {
			_, _ = c.Exec(ctx, `INSERT INTO t (s) VALUES ($1)`, "tx-a")
			_, _ = c.Exec(ctx, `INSERT INTO t (s) VALUES ($1)`, "tx-a")
			return nil
		})
		var txErr *TxError
		if !errors.Is(err, ErrTxRolledBack) || !errors.As(err, &txErr) || txErr.Op != "commit" || count() != 0 {
			t.Fatalf("commit after a failed statement: %v, %d rows", err, count())
		}
		err = pool.Tx(ctx, "BEGIN ISOLATION LEVEL SERIALIZABLE", func(c *Conn) error {
			_, err := c.Exec(ctx, `INSERT INTO t (s) VALUES ($1)`, "tx-committed")
			return err
		})
		if err != nil || count() != 1 {
			t.Fatalf("commit: %v, %d rows", err, count())
		}
		err = pool.Tx(ctx, "BEGIN NONSENSE", func(*Conn) error { return nil })
		if !errors.As(err, &txErr) || txErr.Op != "begin" {
			t.Errorf("bad BEGIN: %v", err)
		}
	})

	t.Run("CancelledQueryFreesItsConnection", func(t *testing.T) {
		qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := pool.Exec(qctx, `SELECT pg_sleep(10)`); err == nil {
			t.Fatal("pg_sleep(10) finished within 200ms")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancelled query returned after %v", d)
		}
		for range 8 {
			if _, err := pool.Exec(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("StatementCacheBound", func(t *testing.T) {
		c, release, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		for i := range maxCached + 20 {
			var got string
			if _, err := c.Query(ctx, fmt.Sprintf(`SELECT $1::int + %d`, i), []any{1}, func(row [][]byte) error {
				got = string(row[0])
				return nil
			}); err != nil || got != fmt.Sprint(i+1) {
				t.Fatalf("statement %d: %q %v", i, got, err)
			}
		}
		if len(c.stmts) != maxCached {
			t.Errorf("%d statements cached, want %d", len(c.stmts), maxCached)
		}
	})

	t.Run("StaleStatementIsPreparedAgain", func(t *testing.T) {
		c, err := Connect(ctx, cfg) // a connection of its own: an empty cache
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.ExecSimple(ctx, `CREATE TABLE st (a int); INSERT INTO st VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		cols := func() (int, error) {
			n := 0
			_, err := c.Query(ctx, `SELECT * FROM st WHERE a = $1`, []any{1}, func(row [][]byte) error { n = len(row); return nil })
			return n, err
		}
		if n, err := cols(); err != nil || n != 1 {
			t.Fatalf("before: %d columns, %v", n, err)
		}
		if _, err := c.ExecSimple(ctx, `ALTER TABLE st ADD COLUMN b int`); err != nil {
			t.Fatal(err)
		}
		// PostgreSQL refuses the cached plan once; the next call prepares
		// the statement again and sees the new column.
		if _, err := cols(); !stale(err) {
			t.Fatalf("after ALTER: %v, want a stale-statement error", err)
		}
		if n, err := cols(); err != nil || n != 2 {
			t.Fatalf("prepared again: %d columns, %v", n, err)
		}
		if _, err := c.ExecSimple(ctx, `DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		if _, err := cols(); !stale(err) {
			t.Fatalf("after DEALLOCATE ALL: %v, want a stale-statement error", err)
		}
		if n, err := cols(); err != nil || n != 2 {
			t.Fatalf("prepared again: %d columns, %v", n, err)
		}
	})

	t.Run("UnnamedStatements", func(t *testing.T) {
		// PgBouncer's transaction pooling needs every execution to stand
		// alone: pgx's URL keys for that must be honoured, and not be
		// sent to PostgreSQL as settings (which it would refuse).
		up := openPool(t, withQuery(srv.URL, "default_query_exec_mode=simple_protocol&pool_max_conns=2"), 2)
		for i := range 3 {
			var got, named string
			if _, err := up.Query(ctx, `SELECT $1::bytea, (SELECT count(*) FROM pg_prepared_statements)`, []any{[]byte{byte(i), 0}}, func(row [][]byte) error {
				got, named = fmt.Sprintf("%x", row[0]), string(row[1])
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got != fmt.Sprintf("%02x00", i) || named != "0" {
				t.Errorf("round %d: value %s, %s named statements on the server", i, got, named)
			}
		}
	})

	t.Run("RetiredConnectionsAreReplaced", func(t *testing.T) {
		rp := openPool(t, withQuery(srv.URL, "pool_max_conn_lifetime=1ms"), 1)
		pid := func() string {
			var p string
			if _, err := rp.Query(ctx, `SELECT pg_backend_pid()::text`, nil, func(row [][]byte) error { p = string(row[0]); return nil }); err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := pid()
		time.Sleep(5 * time.Millisecond)
		if second := pid(); second == first {
			t.Errorf("the same backend %s served after the connection's lifetime", first)
		}
	})

	t.Run("DatabaseSQL", func(t *testing.T) { testDatabaseSQL(t, cfg) })
	// Opened now, used again after the restart below.
	db := OpenDB(cfg)
	defer db.Close()
	if _, err := db.ExecContext(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}

	// Last: the server restarts under the pool, whose idle connections
	// are then dead. After the idle check's delay they are replaced
	// without a failed query.
	t.Run("ServerRestart", func(t *testing.T) {
		srv.Stop(t)
		srv.Restart(t)
		time.Sleep(idlePing + 100*time.Millisecond)
		for range 8 {
			if _, err := pool.Exec(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `SELECT 1`); err != nil {
				t.Fatalf("database/sql: %v", err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT $1::int`, 7).Scan(&n); err != nil || n != 7 {
				t.Fatalf("database/sql query: %d %v", n, err)
			}
		}
	})
}

// openPool opens a pool on url that closes when t ends.
func openPool(t *testing.T, url string, conns int) *Pool {
	t.Helper()
	cfg, err := ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(cfg, conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// withQuery adds query parameters to a URL that may already have some.
func withQuery(url, q string) string {
	if strings.Contains(url, "?") {
		return url + "&" + q
	}
	return url + "?" + q
}

func testDatabaseSQL(t *testing.T, cfg *Config) {
	ctx := t.Context()
	db := OpenDB(cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	// Several statements without arguments go as one message.
	if _, err := db.ExecContext(ctx, `CREATE TABLE u (s text, n int8); INSERT INTO u VALUES ('a', 1); INSERT INTO u VALUES ('b', NULL)`); err != nil {
		t.Fatal(err)
	}
	var n int
	var s string
	var ns sql.NullString
	var exists bool
	err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM u WHERE s <> $1), $1 || 'x', (SELECT n::text FROM u WHERE s = 'b'), true`, "zz").Scan(&n, &s, &ns, &exists)
	if err != nil || n != 2 || s != "zzx" || ns.Valid || !exists {
		t.Fatalf("scan: %d %q %v %v %v", n, s, ns, exists, err)
	}
	res, err := db.ExecContext(ctx, `UPDATE u SET n = $1 WHERE s = $2`, 5, "b")
	if err != nil {
		t.Fatal(err)
	}
	if ra, _ := res.RowsAffected(); ra != 1 {
		t.Errorf("rows affected %d", ra)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM u`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM u`); err == nil {
		t.Error("a read-only transaction deleted")
	}
	_ = tx.Rollback()
	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO u VALUES ($1, $2)`, "c", 3); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT s FROM u ORDER BY s`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil || strings.Join(got, ",") != "a,b,c" {
		t.Errorf("rows %v %v", got, err)
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Error("an unsupported isolation level began")
	}
}

func TestParseConfig(t *testing.T) {
	base := "postgres://u:s3cret-pw@127.0.0.1:5432/db?sslmode=disable"
	cases := []struct {
		query          string
		named          bool
		lifetime, idle time.Duration
		wantErr        string
	}{
		{"", true, time.Hour, 30 * time.Minute, ""},
		{"&default_query_exec_mode=cache_statement", true, time.Hour, 30 * time.Minute, ""},
		{"&default_query_exec_mode=simple_protocol", false, time.Hour, 30 * time.Minute, ""},
		{"&default_query_exec_mode=exec", false, time.Hour, 30 * time.Minute, ""},
		{"&default_query_exec_mode=cache_describe", false, time.Hour, 30 * time.Minute, ""},
		{"&statement_cache_capacity=0", false, time.Hour, 30 * time.Minute, ""},
		{"&statement_cache_capacity=512&description_cache_capacity=0", true, time.Hour, 30 * time.Minute, ""},
		{"&pool_max_conn_lifetime=90s&pool_max_conn_idle_time=0s&pool_max_conns=3&pool_min_conns=1&pool_health_check_period=1m", true, 90 * time.Second, 0, ""},
		{"&default_query_exec_mode=fast", false, 0, 0, "default_query_exec_mode"},
		{"&statement_cache_capacity=lots", false, 0, 0, "statement_cache_capacity"},
		{"&pool_max_conn_lifetime=forever", false, 0, 0, "pool_max_conn_lifetime"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			cfg, err := ParseConfig(base + tc.query)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %v, want one naming %s without the password", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.named != tc.named || cfg.maxLifetime != tc.lifetime || cfg.maxIdle != tc.idle || cfg.Password() != "s3cret-pw" {
				t.Errorf("named %v lifetime %v idle %v, want %v %v %v", cfg.named, cfg.maxLifetime, cfg.maxIdle, tc.named, tc.lifetime, tc.idle)
			}
			// None of pgx's own keys may reach the server as a setting.
			for k := range cfg.pg.RuntimeParams {
				if strings.Contains(k, "cache") || strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" {
					t.Errorf("%s would be sent to the server", k)
				}
			}
		})
	}
}

func TestParseConfigHidesURL(t *testing.T) {
	_, err := ParseConfig("postgres://user:s3cret-pw@host:notaport/db")
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "host") {
		t.Errorf("error %v", err)
	}
}
