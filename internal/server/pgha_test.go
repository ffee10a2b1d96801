package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// newPGHAProc is a tresor process on a shared PostgreSQL database with
// ha_enabled, its own API and cluster ports on loopback; storageExtra goes
// inside the storage stanza.
func newPGHAProc(t *testing.T, url string, storageExtra ...string) *proc {
	t.Helper()
	p := newProc(t)
	cluster := freePort(t)
	conf := fmt.Sprintf(`
storage "postgresql" {
  connection_url = %q
  ha_enabled     = "true"
%s
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = 1
}
api_addr     = "http://%s"
cluster_addr = "https://%s"
log_level    = "info"
`, url, strings.Join(storageExtra, "\n"), p.addr, cluster, p.addr, cluster)
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startPGHAPair starts two servers on the database at url, initialises
// them (3 shares, threshold 2) and unseals both; the first is active, the
// second a standby.
func startPGHAPair(t *testing.T, url string) ([]*proc, *api.InitResponse) {
	t.Helper()
	nodes := []*proc{newPGHAProc(t, url), newPGHAProc(t, url)}
	for _, n := range nodes {
		n.start()
	}
	init, err := nodes[0].client("").Sys().Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, nodes[0].client(""), init.Keys[0], init.Keys[1])
	if activeOf(t, nodes[:1], 30*time.Second) == nil {
		t.Fatalf("node 1 did not become active:\n%s", nodes[0].logs)
	}
	unseal(t, nodes[1].client(""), init.Keys[1], init.Keys[2])
	deadline := time.Now().Add(15 * time.Second)
	for healthCode(t, nodes[1].addr) != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 is not a standby: health %d\n%s", healthCode(t, nodes[1].addr), nodes[1].logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nodes, init
}

// waitSealedOneOfOne waits until every node is sealed with a 1-of-1 seal
// configuration: a restored file's (the cluster itself had 2 of 3).
func waitSealedOneOfOne(t *testing.T, nodes []*proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodes {
		for {
			st, err := n.client("").Sys().SealStatus()
			if err == nil && st.Sealed && st.T == 1 && st.N == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s after the restore: %+v, %v; want sealed, 1 of 1\n%s", n.addr, st, err, n.logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestPostgresHAFailover is issue 15's PostgreSQL "done when": two servers
// on one database (Vault's vault_kv_store and vault_ha_locks tables), one
// active and one standby that forwards; SIGKILL of the active node; the
// standby takes over in under 5 s (the lock row's lifetime) with every
// acknowledged write; the killed node comes back as a standby.
func TestPostgresHAFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	pg := pgtest.Start(t)
	nodes, init := startPGHAPair(t, pg.URL)
	active, standby := nodes[0], nodes[1]
	ls, err := standby.client("").Sys().Leader()
	if err != nil || !ls.HAEnabled || ls.IsSelf || ls.LeaderAddress != "http://"+active.addr {
		t.Fatalf("standby sys/leader = %+v, %v", ls, err)
	}
	root := init.RootToken
	// A request to the standby is forwarded to the active node.
	if err := standby.client(root).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount through the standby: %v", err)
	}

	acked, killedAt := writeUntilKilled(t, active, root)
	next := activeOf(t, []*proc{standby}, 10*time.Second)
	if next == nil {
		t.Fatalf("the standby did not become active within 10 s of the SIGKILL:\n%s", standby.logs)
	}
	took := time.Since(killedAt)
	t.Logf("failover: the standby was active %v after the SIGKILL; %d keys acknowledged", took.Round(10*time.Millisecond), len(acked))
	if took > 5*time.Second {
		t.Errorf("takeover took %v, want under 5 s", took)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	checkAcked(t, next, root, acked)

	// The killed node restarts, unseals and stands by, forwarding to the
	// new active node.
	active.start()
	unseal(t, active.client(""), init.Keys[0], init.Keys[2])
	if _, err := next.client(root).KVv2("secret").Put(context.Background(), "w0", map[string]any{"v": "newest"}); err != nil {
		t.Fatal(err)
	}
	s, err := active.client(root).KVv2("secret").Get(context.Background(), "w0")
	if err != nil || s.Data["v"] != "newest" {
		t.Fatalf("restarted node read w0 = %v, %v; want newest", s, err)
	}
	if code := healthCode(t, active.addr); code != http.StatusTooManyRequests {
		t.Fatalf("restarted node health = %d, want 429 (standby)", code)
	}
}

// TestPostgresHADisableClustering: with disable_clustering in the storage
// stanza a standby does not forward: it answers 307 with the active node's
// api_addr, and the Vault API client, which follows that redirect, works
// through the standby.
func TestPostgresHADisableClustering(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	pg := pgtest.Start(t)
	const off = `  disable_clustering = "true"`
	nodes := []*proc{newPGHAProc(t, pg.URL, off), newPGHAProc(t, pg.URL, off)}
	for _, n := range nodes {
		n.start()
	}
	init, err := nodes[0].client("").Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, nodes[0].client(""), init.Keys[0])
	active := activeOf(t, nodes[:1], 30*time.Second)
	if active == nil {
		t.Fatalf("node 1 did not become active:\n%s", nodes[0].logs)
	}
	standby := nodes[1]
	unseal(t, standby.client(""), init.Keys[0])
	deadline := time.Now().Add(15 * time.Second)
	for healthCode(t, standby.addr) != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 is not a standby:\n%s", standby.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	root := init.RootToken

	// Nothing is forwarded, so neither node binds its cluster port.
	for _, n := range nodes {
		conf, err := os.ReadFile(n.conf)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`cluster_address = "([^"]+)"`).FindSubmatch(conf)
		if m == nil {
			t.Fatalf("no cluster_address in %s", conf)
		}
		ln, err := net.Listen("tcp", string(m[1]))
		if err != nil {
			t.Fatalf("cluster port %s is bound with disable_clustering: %v", m[1], err)
		}
		ln.Close()
	}

	// A client that does not follow redirects sees the 307 and where to.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, "http://"+standby.addr+"/v1/sys/mounts?x=1", nil)
	req.Header.Set("X-Vault-Token", root)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "http://" + active.addr + "/v1/sys/mounts?x=1"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("standby answered %d, Location %q; want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// The Vault API client follows it, writes included.
	c := standby.client(root)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount through the standby: %v", err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "through a redirect"}); err != nil {
		t.Fatalf("write through the standby: %v", err)
	}
	s, err := c.KVv2("secret").Get(context.Background(), "app")
	if err != nil || s.Data["v"] != "through a redirect" {
		t.Fatalf("read through the standby = %v, %v", s, err)
	}
}

// TestPostgresHARestoreSealsBoth: operator restore -force of another
// cluster's backup on the active node of two PostgreSQL HA nodes seals
// both: the standby, taking over, finds that its keys no longer open the
// data and seals instead of serving. Both unseal with the backup's key and
// serve its data.
func TestPostgresHARestoreSealsBoth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	src := newProc(t)
	src.start()
	initSrc, err := src.client("").Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, src.client(""), initSrc.Keys[0])
	if _, err := src.client(initSrc.RootToken).Logical().Write("secret/app", map[string]any{"v": "from-src"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "src.backup")
	if out, err := cliRun(t, src.addr, initSrc.RootToken, "operator", "backup", file); err != nil {
		t.Fatalf("operator backup: %v\n%s", err, out)
	}

	pg := pgtest.Start(t)
	nodes, init := startPGHAPair(t, pg.URL)

	if out, err := cliRun(t, nodes[0].addr, init.RootToken, "operator", "restore", "-force", file); err != nil {
		t.Fatalf("operator restore: %v\n%s", err, out)
	}
	waitSealedOneOfOne(t, nodes)
	for _, n := range nodes {
		unseal(t, n.client(""), initSrc.Keys[0])
	}
	if activeOf(t, nodes, 30*time.Second) == nil {
		t.Fatal("no node became active after unsealing with the backup's key")
	}
	for _, n := range nodes {
		s, err := n.client(initSrc.RootToken).Logical().Read("secret/app")
		if err != nil || s == nil || s.Data["v"] != "from-src" {
			t.Fatalf("read on %s after the restore = %v, %v", n.addr, s, err)
		}
	}
}
