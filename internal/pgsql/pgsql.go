// Package pgsql is the PostgreSQL client that the postgresql storage
// backend and the database secrets engine share: pgx's protocol layer
// (github.com/jackc/pgx/v5/pgconn) with the pool pgx itself uses
// (github.com/jackc/puddle/v2), a per-connection cache of prepared
// statements, and a database/sql connector (sqlconn.go).
//
// It stands in for pgx's top-level package, pgxpool and pgx/stdlib. Those
// bring pgx's type system, which made about 3 MB of the stripped binary
// (an eighth of it), while Tresor passes PostgreSQL only text, integers
// and byte strings. Everything on the wire is still pgx's.
//
// Statements are prepared once per connection and cached under a name, as
// pgx's default mode does. A connection URL that asks pgx not to
// (default_query_exec_mode other than cache_statement, or
// statement_cache_capacity=0, as behind PgBouncer's transaction pooling)
// gets unnamed statements instead: each execution is one self-contained
// Parse, Bind and Execute. pgx's and pgxpool's other URL keys are accepted
// and never sent to the server as settings; pool_max_conn_lifetime and
// pool_max_conn_idle_time are honoured (default one hour and 30 minutes).
//
// Arguments are encoded by the type the server inferred for each
// parameter when the statement was prepared: a bytea parameter takes
// []byte or string in binary form (the raw bytes), every other parameter
// takes text (strings as they are, integers in decimal, booleans as t or
// f). Results come back in text form, except bytea columns, which come
// back raw.
//
//	pool, err := pgsql.NewPool(cfg, 16)
//	tag, err := pool.Exec(ctx, `DELETE FROM t WHERE k = $1`, "key")
//	err = pool.Query(ctx, `SELECT v FROM t WHERE k = $1`, []any{"key"}, func(row [][]byte) error { ... })
package pgsql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// byteaOID is PostgreSQL's type OID of bytea.
const byteaOID = 17

// maxCached bounds each connection's statement cache; statements beyond it
// run unnamed (parsed for each execution). Tresor's own statements are a
// fixed handful.
const maxCached = 256

// idlePing is how long a pooled connection may sit idle before Acquire
// checks it is still alive, as pgxpool does: a database restart or a
// dropped connection then costs a reconnect, not a failed request.
const idlePing = time.Second

// ErrTxRolledBack is returned by Commit when PostgreSQL rolled the
// transaction back instead (a statement in it had failed).
var ErrTxRolledBack = errors.New("pgsql: transaction was rolled back")

// Config is a parsed connection string.
type Config struct {
	pg *pgconn.Config
	// named is whether statements are prepared under a name and cached.
	named bool
	// maxLifetime and maxIdle retire pooled connections, as pgxpool does.
	maxLifetime, maxIdle time.Duration
}

// Password is the connection string's password, for redacting errors.
func (c *Config) Password() string { return c.pg.Password }

// ParseConfig parses a PostgreSQL URL or key=value DSN. Its error never
// quotes connString, which usually carries a password.
func ParseConfig(connString string) (*Config, error) {
	pc, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, errors.New("cannot be parsed as a PostgreSQL URL or DSN")
	}
	cfg := &Config{pg: pc, named: true, maxLifetime: time.Hour, maxIdle: 30 * time.Minute}
	// Keys that pgx and pgxpool take out of the string before pgconn
	// would send them to the server as run-time settings.
	rp := pc.RuntimeParams
	take := func(key string) (string, bool) {
		v, ok := rp[key]
		delete(rp, key)
		return v, ok
	}
	if v, ok := take("default_query_exec_mode"); ok {
		switch v {
		case "cache_statement":
		case "cache_describe", "describe_exec", "exec", "simple_protocol":
			cfg.named = false
		default:
			return nil, fmt.Errorf("default_query_exec_mode %q is not one of cache_statement, cache_describe, describe_exec, exec, simple_protocol", v)
		}
	}
	if v, ok := take("statement_cache_capacity"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("statement_cache_capacity %q is not a non-negative integer", v)
		}
		if n == 0 {
			cfg.named = false
		}
	}
	for _, d := range []struct {
		key string
		to  *time.Duration
	}{{"pool_max_conn_lifetime", &cfg.maxLifetime}, {"pool_max_conn_idle_time", &cfg.maxIdle}} {
		if v, ok := take(d.key); ok {
			t, err := time.ParseDuration(v)
			if err != nil || t < 0 {
				return nil, fmt.Errorf("%s %q is not a duration", d.key, v)
			}
			*d.to = t
		}
	}
	// Accepted as pgx does, and left to Tresor's own settings
	// (max_parallel, max_open_connections).
	for _, key := range []string{"description_cache_capacity", "pool_max_conns", "pool_min_conns",
		"pool_min_idle_conns", "pool_health_check_period", "pool_max_conn_lifetime_jitter"} {
		take(key)
	}
	return cfg, nil
}

// Conn is one connection and its prepared statements. A Conn is not safe
// for concurrent use; the pool hands each to one caller at a time.
type Conn struct {
	pg    *pgconn.PgConn
	named bool // prepare under cached names (Config.named)
	// pooled is set once the connection has been back in its pool:
	// Acquire checks only such connections for age, never a new one.
	pooled bool
	stmts  map[string]*stmt
	next   int // for statement names
}

// stmt is a prepared statement (or, unnamed, only its description) with
// the result formats it is read in.
type stmt struct {
	desc    *pgconn.StatementDescription
	formats []int16
}

// Connect opens a single connection.
func Connect(ctx context.Context, cfg *Config) (*Conn, error) {
	pg, err := pgconn.ConnectConfig(ctx, cfg.pg)
	if err != nil {
		return nil, err
	}
	return &Conn{pg: pg, named: cfg.named, stmts: make(map[string]*stmt)}, nil
}

// bounded is how long Close and Rollback may wait for the server.
const bounded = 5 * time.Second

// Close closes the connection, waiting at most a few seconds for the
// server to take the goodbye.
func (c *Conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), bounded)
	defer cancel()
	return c.pg.Close(ctx)
}

// reusable reports whether c can go back to a pool: open, idle, outside
// any transaction.
func (c *Conn) reusable() bool {
	return !c.pg.IsClosed() && !c.pg.IsBusy() && c.pg.TxStatus() == 'I'
}

// prepare returns sql's prepared statement on c, preparing it on first use.
func (c *Conn) prepare(ctx context.Context, sql string) (*stmt, error) {
	if s := c.stmts[sql]; s != nil {
		return s, nil
	}
	name := ""
	if c.named && len(c.stmts) < maxCached {
		c.next++
		name = "tresor_" + strconv.Itoa(c.next)
	}
	desc, err := c.pg.Prepare(ctx, name, sql, nil)
	if err != nil {
		return nil, err
	}
	s := &stmt{desc: desc, formats: make([]int16, len(desc.Fields))}
	for i, f := range desc.Fields {
		if f.DataTypeOID == byteaOID {
			s.formats[i] = 1
		}
	}
	if len(c.stmts) < maxCached {
		c.stmts[sql] = s // unnamed: the description alone, which spares a round trip
	}
	return s, nil
}

// Query runs sql with args and calls row, if not nil, for each row with
// its column values (nil for NULL). The values are only valid during the
// call. An error from row stops nothing on the wire (the remaining rows
// are read and dropped) but is returned.
func (c *Conn) Query(ctx context.Context, sql string, args []any, row func([][]byte) error) (pgconn.CommandTag, error) {
	s, err := c.prepare(ctx, sql)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return c.run(ctx, sql, s, args, row)
}

// run executes sql, prepared as s, for Query.
func (c *Conn) run(ctx context.Context, sql string, s *stmt, args []any, row func([][]byte) error) (pgconn.CommandTag, error) {
	var err error
	if len(args) != len(s.desc.ParamOIDs) {
		return pgconn.CommandTag{}, fmt.Errorf("pgsql: statement takes %d arguments, got %d", len(s.desc.ParamOIDs), len(args))
	}
	values := make([][]byte, len(args))
	formats := make([]int16, len(args))
	for i, a := range args {
		if values[i], formats[i], err = encode(a, s.desc.ParamOIDs[i]); err != nil {
			return pgconn.CommandTag{}, fmt.Errorf("pgsql: argument %d: %w", i+1, err)
		}
	}
	var rr *pgconn.ResultReader
	if s.desc.Name != "" {
		rr = c.pg.ExecStatement(ctx, s.desc, values, formats, s.formats)
	} else {
		rr = c.pg.ExecParams(ctx, sql, values, s.desc.ParamOIDs, formats, s.formats)
	}
	var rowErr error
	for rr.NextRow() {
		if row != nil && rowErr == nil {
			rowErr = row(rr.Values())
		}
	}
	tag, err := rr.Close()
	if stale(err) {
		// The table changed under the cached statement, or the statement
		// is gone from the server (DEALLOCATE, DISCARD): prepare it again
		// next time. A named one left behind dies with the connection.
		delete(c.stmts, sql)
	}
	if err == nil {
		err = rowErr
	}
	return tag, err
}

// stale reports whether err means a cached statement no longer fits the
// server: "cached plan must not change result type" (0A000) or an unknown
// prepared statement (26000).
func stale(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "0A000" || pgErr.Code == "26000")
}

// Exec runs sql with args, ignoring any rows.
func (c *Conn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.Query(ctx, sql, args, nil)
}

// ExecSimple sends sql, which may hold several ";"-separated statements
// and no parameters, in one simple-protocol message (PostgreSQL runs it as
// one implicit transaction unless it manages its own). It returns the
// last statement's tag.
func (c *Conn) ExecSimple(ctx context.Context, sql string) (pgconn.CommandTag, error) {
	results, err := c.pg.Exec(ctx, sql).ReadAll()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	for _, r := range results {
		if r.Err != nil {
			return pgconn.CommandTag{}, r.Err
		}
	}
	if len(results) == 0 {
		return pgconn.CommandTag{}, nil
	}
	return results[len(results)-1].CommandTag, nil
}

// Begin starts a transaction with begin, a BEGIN statement.
func (c *Conn) Begin(ctx context.Context, begin string) error {
	_, err := c.ExecSimple(ctx, begin)
	return err
}

// Commit commits the transaction; ErrTxRolledBack if PostgreSQL rolled it
// back instead.
func (c *Conn) Commit(ctx context.Context) error {
	tag, err := c.ExecSimple(ctx, "COMMIT")
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return ErrTxRolledBack
	}
	return nil
}

// Rollback ends the transaction without committing it. It is harmless
// outside one. It comes after a failure, often once ctx is done, so it
// keeps ctx's values but not its end, and waits a few seconds at most (a
// connection that could not roll back is closed when it is released).
func (c *Conn) Rollback(ctx context.Context) error {
	if c.pg.IsClosed() || c.pg.TxStatus() == 'I' {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bounded)
	defer cancel()
	_, err := c.ExecSimple(ctx, "ROLLBACK")
	return err
}

// Tx runs fn in a transaction started with begin (a BEGIN statement) and
// commits it unless fn fails. fn's error is returned as it is; a failed
// BEGIN or COMMIT is a *TxError. After a failure the transaction is rolled
// back (Rollback).
func (c *Conn) Tx(ctx context.Context, begin string, fn func() error) error {
	if err := c.Begin(ctx, begin); err != nil {
		return &TxError{Op: "begin", Err: err}
	}
	err := fn()
	if err == nil {
		if err = c.Commit(ctx); err == nil {
			return nil
		}
		err = &TxError{Op: "commit", Err: err}
	}
	_ = c.Rollback(ctx)
	return err
}

// TxError is a transaction's BEGIN or COMMIT failing.
type TxError struct {
	Op  string // "begin" or "commit"
	Err error
}

func (e *TxError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *TxError) Unwrap() error { return e.Err }

// encode gives arg's wire form for a parameter of type oid, and its format
// code (0 text, 1 binary).
func encode(arg any, oid uint32) ([]byte, int16, error) {
	switch v := arg.(type) {
	case nil:
		return nil, 0, nil
	case []byte:
		if v == nil {
			return nil, 0, nil // NULL, as pgx sends a nil slice
		}
		if oid == byteaOID {
			return v, 1, nil
		}
		return v, 0, nil
	case string:
		if oid == byteaOID {
			return []byte(v), 1, nil
		}
		return []byte(v), 0, nil
	case int64:
		return strconv.AppendInt(nil, v, 10), 0, nil
	case int:
		return strconv.AppendInt(nil, int64(v), 10), 0, nil
	case int32:
		return strconv.AppendInt(nil, int64(v), 10), 0, nil
	case float64:
		return strconv.AppendFloat(nil, v, 'g', -1, 64), 0, nil
	case bool:
		if v {
			return []byte("t"), 0, nil
		}
		return []byte("f"), 0, nil
	case time.Time:
		return []byte(v.Format("2006-01-02 15:04:05.999999999Z07:00")), 0, nil
	}
	return nil, 0, fmt.Errorf("unsupported type %T", arg)
}

// Pool is a bounded pool of connections to one database. It is safe for
// concurrent use.
type Pool struct {
	p   *puddle.Pool[*Conn]
	cfg *Config
}

// NewPool returns a pool of at most maxConns connections to cfg's
// database; it connects lazily.
func NewPool(cfg *Config, maxConns int) (*Pool, error) {
	p, err := puddle.NewPool(&puddle.Config[*Conn]{
		Constructor: func(ctx context.Context) (*Conn, error) { return Connect(ctx, cfg) },
		Destructor:  func(c *Conn) { _ = c.Close() },
		MaxSize:     int32(min(max(maxConns, 1), 1<<30)),
	})
	if err != nil {
		return nil, err
	}
	return &Pool{p: p, cfg: cfg}, nil
}

// Close closes every connection; it waits for those in use.
func (p *Pool) Close() { p.p.Close() }

// MaxConns is the pool's bound on open connections.
func (p *Pool) MaxConns() int { return int(p.p.Stat().MaxResources()) }

// Acquire takes a connection for the caller's exclusive use; release gives
// it back (or closes it, if it is broken or left inside a transaction).
func (p *Pool) Acquire(ctx context.Context) (c *Conn, release func(), err error) {
	for {
		res, err := p.p.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		c := res.Value()
		if c.pg.IsClosed() || c.pooled && p.retired(res) {
			res.Destroy()
			continue
		}
		if c.pooled && res.IdleDuration() > idlePing {
			if err := c.pg.Ping(ctx); err != nil {
				res.Destroy()
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				continue
			}
		}
		return c, func() {
			if c.reusable() && !p.retired(res) {
				c.pooled = true
				res.Release()
			} else {
				res.Destroy()
			}
		}, nil
	}
}

// retired reports whether a pooled connection has lived or idled past
// the configured bounds (zero: no bound), so that connections move to a
// new server after a DNS or host failover, as pgxpool's do.
func (p *Pool) retired(res *puddle.Resource[*Conn]) bool {
	return p.cfg.maxLifetime > 0 && time.Since(res.CreationTime()) > p.cfg.maxLifetime ||
		p.cfg.maxIdle > 0 && res.IdleDuration() > p.cfg.maxIdle
}

// Query runs Conn.Query on a pooled connection.
func (p *Pool) Query(ctx context.Context, sql string, args []any, row func([][]byte) error) (pgconn.CommandTag, error) {
	c, release, err := p.Acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer release()
	return c.Query(ctx, sql, args, row)
}

// Exec runs Conn.Exec on a pooled connection.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return p.Query(ctx, sql, args, nil)
}

// Tx runs Conn.Tx on a pooled connection; fn gets the connection.
func (p *Pool) Tx(ctx context.Context, begin string, fn func(c *Conn) error) error {
	c, release, err := p.Acquire(ctx)
	if err != nil {
		return &TxError{Op: "begin", Err: err}
	}
	defer release()
	return c.Tx(ctx, begin, func() error { return fn(c) })
}

// QuoteIdent quotes a PostgreSQL identifier, as pgx.Identifier's Sanitize
// does for one part: doubled quotes, NUL bytes dropped.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `"`, `""`), "\x00", "") + `"`
}
