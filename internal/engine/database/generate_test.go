package database

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestSplitStatements(t *testing.T) {
	tests := map[string]struct {
		in   []string
		want []string
	}{
		"seed string":        {[]string{`CREATE ROLE "{{name}}"; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`}, []string{`CREATE ROLE "{{name}}"`, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}"`}},
		"list":               {[]string{"A", "B;C"}, []string{"A", "B", "C"}},
		"commas are kept":    {[]string{"GRANT SELECT, INSERT ON t TO x"}, []string{"GRANT SELECT, INSERT ON t TO x"}},
		"empty pieces":       {[]string{" ; ;A;; "}, []string{"A"}},
		"dollar-quoted body": {[]string{"DO $$ BEGIN PERFORM 1; END $$;"}, []string{"DO $$ BEGIN PERFORM 1; END $$;"}},
		"nothing":            {nil, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := splitStatements(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	vars := map[string]string{"name": "v-u", "password": "pw", "expiration": "2030-01-01"}
	tests := map[string]struct{ in, want string }{
		"all":     {`CREATE ROLE "{{name}}" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`, `CREATE ROLE "v-u" PASSWORD 'pw' VALID UNTIL '2030-01-01'`},
		"spaces":  {`{{ name }}`, `v-u`},
		"unknown": {`{{other}}`, `{{other}}`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := render(tt.in, vars); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewUsername(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for name, d := range dialects {
		t.Run(name, func(t *testing.T) {
			u, err := newUsername(d.usernameTemplate, "approle-long-display", "a-long-role-name", d.maxUsername, now)
			if err != nil || u == "" || len(u) > d.maxUsername || !strings.HasPrefix(u, "v-") {
				t.Fatalf("%q %v", u, err)
			}
		})
	}
	tests := map[string]struct {
		tpl, want, err string
	}{
		"fields":   {`{{.RoleName}}_{{.DisplayName | uppercase}}`, "role_TOKEN", ""},
		"time":     {`x{{unix_time}}`, "x1700000000", ""},
		"too long": {`{{random 70}}`, "", "over the database's limit"},
		"empty":    {`{{""}}`, "", "empty"},
		"bad":      {`{{.Nope}}`, "", "username_template"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			u, err := newUsername(tt.tpl, "token", "role", 63, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %q %v, want error %q", u, err, tt.err)
				}
				return
			}
			if err != nil || u != tt.want {
				t.Fatalf("got %q %v, want %q", u, err, tt.want)
			}
		})
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := newPassword()
		if len(p) != 20 || strings.ContainsAny(p, `'"\@:/`) || seen[p] {
			t.Fatalf("password %q", p)
		}
		seen[p] = true
	}
}

func TestRedactAndDSN(t *testing.T) {
	secret := "p@ss:w/rd 1"
	d := dsn("postgresql://{{username}}:{{password}}@h:5432/db", "us er", secret)
	if strings.Contains(d, secret) || !strings.Contains(d, "us%20er:") {
		t.Errorf("dsn %q", d)
	}
	msg := redact("failed for "+d+" and "+secret, secret, d)
	if strings.Contains(msg, secret) || strings.Contains(msg, "p%40ss") {
		t.Errorf("redacted %q", msg)
	}
	if got := dsn("{{username}}:{{password}}@tcp(h:3306)/", "u", "p-w"); got != "u:p-w@tcp(h:3306)/" {
		t.Errorf("mysql dsn %q", got)
	}
}

// TestConfigValidation covers the 400s that need no database.
func TestConfigValidation(t *testing.T) {
	b, err := Factory(context.Background(), &logical.BackendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := inmem.New()
	tests := map[string]struct {
		path string
		data map[string]any
		want string
	}{
		"no plugin":        {"config/a", map[string]any{"connection_url": "x"}, "empty plugin name"},
		"unknown plugin":   {"config/a", map[string]any{"plugin_name": "oracle-database-plugin", "connection_url": "x"}, "unsupported plugin_name"},
		"no url":           {"config/a", map[string]any{"plugin_name": "mysql-database-plugin"}, "connection_url cannot be empty"},
		"password policy":  {"config/a", map[string]any{"plugin_name": "mysql-database-plugin", "connection_url": "x", "password_policy": "p"}, "password_policy"},
		"bad template":     {"config/a", map[string]any{"plugin_name": "mysql-database-plugin", "connection_url": "x", "username_template": "{{"}, "username template"},
		"bad verify":       {"config/a", map[string]any{"plugin_name": "mysql-database-plugin", "connection_url": "x", "verify_connection": "maybe"}, "verify_connection"},
		"role no db":       {"roles/r", map[string]any{"creation_statements": "x"}, "empty database name"},
		"role no creation": {"roles/r", map[string]any{"db_name": "a"}, "creation statements are required"},
		"role ttl > max":   {"roles/r", map[string]any{"db_name": "a", "creation_statements": "x", "default_ttl": "2h", "max_ttl": "1h"}, "max_ttl"},
		"static no user":   {"static-roles/s", map[string]any{"db_name": "a", "rotation_period": "1h"}, "username"},
		"static both":      {"static-roles/s", map[string]any{"db_name": "a", "username": "u", "rotation_schedule": "0 * * * *", "rotation_period": "1h"}, "mutually exclusive"},
		"static bad cron":  {"static-roles/s", map[string]any{"db_name": "a", "username": "u", "rotation_schedule": "61 * * * *"}, "rotation_schedule"},
		"static neither":   {"static-roles/s", map[string]any{"db_name": "a", "username": "u"}, "one of rotation_schedule or rotation_period"},
		"static short":     {"static-roles/s", map[string]any{"db_name": "a", "username": "u", "rotation_period": "2s"}, "5 seconds"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: tt.path, Data: tt.data, Storage: s})
			e, ok := logical.AsError(err)
			if !ok || e.Status() != 400 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a 400 with %q", err, tt.want)
			}
		})
	}
	for _, p := range []string{"creds/none", "static-creds/none"} {
		_, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation, Path: p, Storage: s})
		if e, ok := logical.AsError(err); !ok || e.Status() != 400 {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := b.(logical.Closer).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func FuzzStatements(f *testing.F) {
	f.Add(`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT x TO "{{ name }}";`)
	f.Add("DO $$ ; $$")
	f.Fuzz(func(t *testing.T, s string) {
		for _, st := range splitStatements([]string{s}) {
			if strings.TrimSpace(st) != st || st == "" {
				t.Fatalf("statement %q", st)
			}
			_ = render(st, map[string]string{"name": "n", "password": "p"})
		}
		_, _ = newUsername(s, "d", "r", 63, time.Unix(0, 0))
	})
}
