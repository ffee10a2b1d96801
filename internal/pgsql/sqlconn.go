package pgsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// OpenDB returns a database/sql handle on cfg's database, for code that
// speaks database/sql to several databases (the database secrets engine).
// A statement without arguments is sent in one simple-protocol message,
// so it may hold several ";"-separated statements; one with arguments is
// prepared and cached on its connection. Rows come back as []byte (or nil
// for NULL) in text form, for Scan to convert: the engine scans strings
// and integers.
//
// As pgx's database/sql driver does, a connection idle for over a second
// is checked before reuse, and a statement that failed before reaching
// the server is retried on another connection (driver.ErrBadConn), so a
// database restart costs reconnections, not failed requests.
func OpenDB(cfg *Config) *sql.DB { return sql.OpenDB(connector{cfg: cfg}) }

type connector struct{ cfg *Config }

func (k connector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := Connect(ctx, k.cfg)
	if err != nil {
		return nil, err
	}
	return &sqlConn{c: c, used: time.Now()}, nil
}

func (k connector) Driver() driver.Driver { return sqlDriver{} }

// sqlDriver exists because driver.Connector must name one; handles are
// only made through OpenDB.
type sqlDriver struct{}

func (sqlDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("pgsql: open handles with pgsql.OpenDB")
}

// sqlConn is a Conn as database/sql sees it.
type sqlConn struct {
	c    *Conn
	used time.Time // end of the last statement, for ResetSession
}

// badConn turns err into driver.ErrBadConn when the statement never
// reached the server, so database/sql retries it on another connection.
func (s *sqlConn) badConn(err error) error {
	s.used = time.Now()
	if err != nil && pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

var (
	_ driver.ExecerContext      = (*sqlConn)(nil)
	_ driver.QueryerContext     = (*sqlConn)(nil)
	_ driver.ConnBeginTx        = (*sqlConn)(nil)
	_ driver.Pinger             = (*sqlConn)(nil)
	_ driver.SessionResetter    = (*sqlConn)(nil)
	_ driver.Validator          = (*sqlConn)(nil)
	_ driver.ConnPrepareContext = (*sqlConn)(nil)
)

func (s *sqlConn) Close() error { return s.c.Close() }

func (s *sqlConn) Prepare(query string) (driver.Stmt, error) {
	return s.PrepareContext(context.Background(), query)
}

func (s *sqlConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := s.c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &sqlStmt{s: s, query: query, n: len(st.desc.ParamOIDs)}, nil
}

func (s *sqlConn) Begin() (driver.Tx, error) {
	return s.BeginTx(context.Background(), driver.TxOptions{})
}

func (s *sqlConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	begin := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		begin += " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		begin += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		begin += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		begin += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, fmt.Errorf("pgsql: isolation level %d is not supported", opts.Isolation)
	}
	if opts.ReadOnly {
		begin += " READ ONLY"
	}
	if s.c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	if err := s.c.Begin(ctx, begin); err != nil {
		return nil, s.badConn(err)
	}
	return sqlTx{s: s, ctx: ctx}, nil
}

func (s *sqlConn) Ping(ctx context.Context) error {
	if err := s.c.pg.Ping(ctx); err != nil {
		return driver.ErrBadConn
	}
	return nil
}

func (s *sqlConn) ResetSession(ctx context.Context) error {
	if !s.c.reusable() {
		return driver.ErrBadConn
	}
	if time.Since(s.used) > idlePing {
		if err := s.c.pg.Ping(ctx); err != nil {
			return driver.ErrBadConn
		}
		s.used = time.Now()
	}
	return nil
}

func (s *sqlConn) IsValid() bool { return s.c.reusable() }

func (s *sqlConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s.c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	var tag pgconn.CommandTag
	var err error
	if len(args) == 0 {
		tag, err = s.c.ExecSimple(ctx, query)
	} else {
		tag, err = s.c.Query(ctx, query, values(args), nil)
	}
	if err != nil {
		return nil, s.badConn(err)
	}
	s.used = time.Now()
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (s *sqlConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if s.c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	st, err := s.c.prepare(ctx, query)
	if err != nil {
		return nil, s.badConn(err)
	}
	r := &sqlRows{}
	for _, f := range st.desc.Fields {
		r.cols = append(r.cols, f.Name)
	}
	_, err = s.c.run(ctx, query, st, values(args), func(row [][]byte) error {
		vals := make([]driver.Value, len(row))
		for i, v := range row {
			if v != nil {
				vals[i] = append([]byte{}, v...)
			}
		}
		r.rows = append(r.rows, vals)
		return nil
	})
	if err != nil {
		return nil, s.badConn(err)
	}
	s.used = time.Now()
	return r, nil
}

func values(args []driver.NamedValue) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}

// sqlStmt is a statement database/sql prepared; it runs through the
// connection's statement cache.
type sqlStmt struct {
	s     *sqlConn
	query string
	n     int
}

func (st *sqlStmt) Close() error  { return nil }
func (st *sqlStmt) NumInput() int { return st.n }

func (st *sqlStmt) Exec(args []driver.Value) (driver.Result, error) {
	return st.s.ExecContext(context.Background(), st.query, named(args))
}

func (st *sqlStmt) Query(args []driver.Value) (driver.Rows, error) {
	return st.s.QueryContext(context.Background(), st.query, named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// sqlRows is a result read whole: the engine's queries return a row or
// two.
type sqlRows struct {
	cols []string
	rows [][]driver.Value
}

func (r *sqlRows) Columns() []string { return r.cols }
func (r *sqlRows) Close() error      { return nil }

func (r *sqlRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}

// sqlTx commits under the context the transaction began with, as pgx's
// driver does; Conn.Rollback outlives that context, within a bound.
type sqlTx struct {
	s   *sqlConn
	ctx context.Context
}

func (t sqlTx) Commit() error {
	err := t.s.c.Commit(t.ctx)
	t.s.used = time.Now()
	return err
}

func (t sqlTx) Rollback() error {
	err := t.s.c.Rollback(t.ctx)
	t.s.used = time.Now()
	return err
}
