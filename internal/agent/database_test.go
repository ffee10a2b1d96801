package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/agent"
	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// TestDynamicDatabaseCredentials: PostgreSQL credentials from the database
// engine are renewed and replaced before their max TTL. It waits for the
// database engine (being built in parallel) and skips until it exists; the
// generic lease handling it relies on is covered by TestWatcherRenewsLeases.
func TestDynamicDatabaseCredentials(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if err := s.Client.Sys().Mount("database", &api.MountInput{Type: "database"}); err != nil {
		t.Skipf("no database secrets engine in this build yet (%v); the lease renewal is tested with a leasing test engine", err)
	}
	pg := pgtest.Start(t)
	c := s.Client
	if _, err := c.Logical().Write("database/config/pg", map[string]any{
		"plugin_name":    "postgresql-database-plugin",
		"connection_url": pg.URL,
		"allowed_roles":  "app",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("database/roles/app", map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         "2s",
		"max_ttl":             "5s",
	}); err != nil {
		t.Fatal(err)
	}
	w := agent.NewWatcher(c, agent.WatcherOptions{Interval: time.Hour, Retries: -1})
	dep := agent.Dependency{Path: "database/creds/app"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Watch(ctx, []agent.Dependency{dep})
	waitFor(t, 10*time.Second, "the first credentials", func() bool { _, ok := w.Get(dep); return ok })
	first, _ := w.Get(dep)
	<-w.Changed()
	w.TakeChanges()
	waitFor(t, 15*time.Second, "replacement credentials before max TTL", func() bool {
		s, _ := w.Get(dep)
		return s != nil && s.Data["username"] != first.Data["username"]
	})
}
