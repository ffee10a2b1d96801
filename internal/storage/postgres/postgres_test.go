package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tresorhq/tresor/internal/backup/backuptest"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
	"github.com/tresorhq/tresor/internal/storage/storagetest"
)

// TestPostgres starts one server and runs every test that needs it as a
// subtest, so the server's start-up is paid once.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	var tables atomic.Int64
	// open returns a store on a table no other subtest uses.
	open := func(t *testing.T) *Store {
		t.Helper()
		table := fmt.Sprintf("kv_%d", tables.Add(1))
		s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL, "table": table})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	t.Run("Conformance", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
	})
	t.Run("ConformanceThroughView", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return storage.NewView(open(t), "logical/3f2a/") })
	})
	t.Run("CreatesVaultSchema", func(t *testing.T) { testCreatesVaultSchema(t, srv) })
	t.Run("ReusesExistingTable", func(t *testing.T) { testReusesExistingTable(t, srv) })
	t.Run("ConnectionErrorsHidePassword", func(t *testing.T) { testConnectionErrors(t, srv) })
	t.Run("Config", func(t *testing.T) { testConfig(t, srv) })
	t.Run("HA", func(t *testing.T) { testHA(t, srv) })
	t.Run("Cache", func(t *testing.T) { testCache(t, srv) })
	t.Run("BackupIsOneSnapshot", func(t *testing.T) { backuptest.CheckConsistentUnderWrites(t, open(t)) })
	t.Run("CacheReadYourWrites", func(t *testing.T) { testCacheReadYourWrites(t, srv) })
	t.Run("ConformanceUncached", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store {
			s, err := OpenWith(t.Context(), map[string]string{"connection_url": srv.URL, "table": fmt.Sprintf("kv_%d", tables.Add(1))}, Options{CacheEntries: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// connect opens a plain connection for inspecting the database.
func connect(t *testing.T, srv *pgtest.Server) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func testCreatesVaultSchema(t *testing.T, srv *pgtest.Server) {
	s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := connect(t, srv)
	rows, err := c.Query(t.Context(), `SELECT column_name, data_type, is_nullable, coalesce(collation_name, '')
		FROM information_schema.columns WHERE table_name = 'vault_kv_store' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, typ, null, coll string
		err := r.Scan(&name, &typ, &null, &coll)
		return strings.Join([]string{name, typ, null, coll}, " "), err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"parent_path text NO C", "path text NO C", "key text NO C", "value bytea YES "}
	if strings.Join(cols, ", ") != strings.Join(want, ", ") {
		t.Errorf("columns = %q, want %q", cols, want)
	}
	var def, idx string
	if err := c.QueryRow(t.Context(), `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pkey'`).Scan(&def); err != nil {
		t.Fatalf("primary key pkey: %v", err)
	}
	if def != "PRIMARY KEY (path, key)" {
		t.Errorf("pkey = %q", def)
	}
	if err := c.QueryRow(t.Context(), `SELECT indexdef FROM pg_indexes WHERE indexname = 'parent_path_idx'`).Scan(&idx); err != nil {
		t.Fatalf("index parent_path_idx: %v", err)
	}
	if !strings.Contains(idx, "ON public.vault_kv_store USING btree (parent_path)") {
		t.Errorf("parent_path_idx = %q", idx)
	}
}

func testReusesExistingTable(t *testing.T, srv *pgtest.Server) {
	c := connect(t, srv)
	// Vault's documented schema, filled the way Vault lays rows out.
	setup := []string{
		`CREATE TABLE vault_existing (
			parent_path TEXT COLLATE "C" NOT NULL,
			path        TEXT COLLATE "C",
			key         TEXT COLLATE "C",
			value       BYTEA,
			CONSTRAINT existing_pkey PRIMARY KEY (path, key))`,
		`CREATE INDEX existing_parent_path_idx ON vault_existing (parent_path)`,
		`INSERT INTO vault_existing VALUES ('', '/', 'core', 'top'), ('/', '/sys/', 'token', 'mid'), ('/sys/', '/sys/a/', 'b', 'deep')`,
	}
	for _, sql := range setup {
		if _, err := c.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL, "table": "vault_existing"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for key, want := range map[string]string{"core": "top", "sys/token": "mid", "sys/a/b": "deep"} {
		e, err := s.Get(t.Context(), key)
		if err != nil || string(e.Value) != want {
			t.Errorf("Get(%q) = %v, %v; want %q", key, e, err, want)
		}
	}
	if got, err := s.List(t.Context(), "sys/"); err != nil || strings.Join(got, ",") != "a/,token" {
		t.Errorf("List(sys/) = %q, %v; want [a/ token]", got, err)
	}
	if err := s.Put(t.Context(), &storage.Entry{Key: "x/y/z", Value: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	var parent, path string
	if err := c.QueryRow(t.Context(), `SELECT parent_path, path FROM vault_existing WHERE key = 'z'`).Scan(&parent, &path); err != nil {
		t.Fatal(err)
	}
	if parent != "/x/" || path != "/x/y/" {
		t.Errorf("Put(x/y/z) stored parent_path %q, path %q; want Vault's /x/, /x/y/", parent, path)
	}
	var n int
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM pg_indexes WHERE tablename = 'vault_existing'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("vault_existing has %d indexes (%v), want its own 2 untouched", n, err)
	}
}

func testConnectionErrors(t *testing.T, srv *pgtest.Server) {
	const password = "hunter2-Secret"
	host := strings.TrimPrefix(strings.Split(srv.URL, "/postgres?")[0], "postgres://postgres@")
	cases := map[string]struct {
		url        string
		wantConfig bool
	}{
		"unparsable port":   {"postgres://vault:" + password + "@" + host + ":notaport/vault", true},
		"bad escape":        {"postgres://vault:" + password + "%zz@" + host + "/vault", true},
		"refused":           {"postgres://vault:" + password + "@127.0.0.1:1/vault?sslmode=disable&connect_timeout=2", false},
		"missing database":  {"postgres://vault:" + password + "@" + host + "/nosuchdb?sslmode=disable", false},
		"dsn with password": {"host=127.0.0.1 port=1 user=vault password=" + password + " sslmode=disable connect_timeout=2", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.Context(), map[string]string{"connection_url": tc.url})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the password: %v", err)
			}
			if errors.Is(err, ErrConfig) != tc.wantConfig {
				t.Errorf("errors.Is(%v, ErrConfig) = %v, want %v", err, !tc.wantConfig, tc.wantConfig)
			}
		})
	}
}

func testConfig(t *testing.T, srv *pgtest.Server) {
	cases := map[string]struct {
		conf    map[string]string
		env     string
		wantErr error
	}{
		"no connection url":           {conf: map[string]string{}, wantErr: ErrConfig},
		"ha enabled is accepted":      {conf: map[string]string{"connection_url": srv.URL, "ha_enabled": "true", "table": "cfg_ha_on", "ha_table": "cfg_ha_locks"}},
		"ha disabled is accepted":     {conf: map[string]string{"connection_url": srv.URL, "ha_enabled": "false", "table": "cfg_ha"}},
		"ha not a boolean":            {conf: map[string]string{"connection_url": srv.URL, "ha_enabled": "maybe"}, wantErr: ErrConfig},
		"max_parallel must be number": {conf: map[string]string{"connection_url": srv.URL, "max_parallel": "many"}, wantErr: ErrConfig},
		"max_parallel must be > 0":    {conf: map[string]string{"connection_url": srv.URL, "max_parallel": "0"}, wantErr: ErrConfig},
		"max_parallel sets the pool":  {conf: map[string]string{"connection_url": srv.URL, "max_parallel": "3", "table": "cfg_mp"}},
		"environment overrides url":   {conf: map[string]string{"connection_url": "postgres://nobody@127.0.0.1:1/x", "table": "cfg_env"}, env: srv.URL},
		"environment alone suffices":  {conf: map[string]string{"table": "cfg_env2"}, env: srv.URL},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "VAULT_PG_CONNECTION_URL" {
					return tc.env
				}
				return ""
			}
			s, err := OpenWith(t.Context(), tc.conf, Options{Getenv: getenv})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if mp := tc.conf["max_parallel"]; mp != "" && fmt.Sprint(s.pool.MaxConns()) != mp {
				t.Errorf("pool MaxConns = %d, want %s", s.pool.MaxConns(), mp)
			}
			if err := s.Put(t.Context(), &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSplitKey(t *testing.T) {
	cases := map[string]struct {
		key  string
		want row
	}{
		"top level":   {"core", row{"", "/", "core"}},
		"one folder":  {"sys/token", row{"/", "/sys/", "token"}},
		"two folders": {"logical/3f/app", row{"/logical/", "/logical/3f/", "app"}},
		"deep":        {"a/b/c/d", row{"/a/b/", "/a/b/c/", "d"}},
		"empty name":  {"a/", row{"/", "/a/", ""}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := splitKey(tc.key); got != tc.want {
				t.Errorf("splitKey(%q) = %+v, want %+v", tc.key, got, tc.want)
			}
		})
	}
}

func TestLikePrefix(t *testing.T) {
	for in, want := range map[string]string{"": "%", "/a/": "/a/%", "50%_off\\": `50\%\_off\\%`} {
		if got := likePrefix(in); got != want {
			t.Errorf("likePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
