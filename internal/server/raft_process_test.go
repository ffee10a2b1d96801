package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// newRaftProc is a tresor process on Raft storage with its own API and
// cluster ports on loopback; raftExtra goes inside the storage stanza.
func newRaftProc(t *testing.T, id string, raftExtra ...string) *proc {
	t.Helper()
	cluster := freePort(t)
	return raftProc(t, id, cluster, cluster, "info", raftExtra...)
}

// raftProc writes the configuration of a Raft node whose cluster port
// listens on listen and is advertised as advertise (they differ behind a
// fault proxy).
func raftProc(t *testing.T, id, listen, advertise, logLevel string, raftExtra ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{t: t, dataDir: filepath.Join(dir, "raft"), conf: filepath.Join(dir, "config.hcl"), addr: freePort(t)}
	conf := fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = %q
%s
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = 1
}
api_addr      = "http://%s"
cluster_addr  = "https://%s"
disable_mlock = true
log_level     = %q
`, p.dataDir, id, strings.Join(raftExtra, "\n"), p.addr, listen, p.addr, advertise, logLevel)
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeUntilKilled has eight writers put increasing values of "v" under
// secret/w<n> through active until, after 0.7 s, active is killed with
// SIGKILL. It returns the last acknowledged value of each key and when
// the kill happened.
func writeUntilKilled(t *testing.T, active *proc, root string) (map[string]int, time.Time) {
	t.Helper()
	const writers = 8
	var mu sync.Mutex
	acked := map[string]int{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			c := active.client(root)
			c.SetClientTimeout(5 * time.Second)
			key := fmt.Sprintf("w%d", w)
			for i := 1; ctx.Err() == nil && i < 10000; i++ {
				if _, err := c.KVv2("secret").Put(context.Background(), key, map[string]any{"v": i}); err != nil {
					return
				}
				mu.Lock()
				acked[key] = i
				mu.Unlock()
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	killedAt := time.Now()
	active.stop(syscall.SIGKILL)
	wg.Wait()
	return acked, killedAt
}

// checkAcked reads every acknowledged key through n. A write may have
// committed without its acknowledgement arriving, so the stored value is
// the acknowledged one or the next.
func checkAcked(t *testing.T, n *proc, root string, acked map[string]int) {
	t.Helper()
	c := n.client(root)
	for key, want := range acked {
		s, err := c.KVv2("secret").Get(context.Background(), key)
		if err != nil {
			t.Fatalf("read %s on %s: %v", key, n.addr, err)
		}
		var got int
		fmt.Sscan(fmt.Sprint(s.Data["v"]), &got)
		if got != want && got != want+1 {
			t.Fatalf("%s on %s = %d, acknowledged %d", key, n.addr, got, want)
		}
	}
}

// cli runs the tresor CLI against p and returns its standard output.
func (p *proc) cli(token string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(tresorBin, args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR=http://"+p.addr, "VAULT_TOKEN="+token)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("tresor %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// activeOf returns the node answering sys/health with 200, waiting up to
// limit for one.
func activeOf(t *testing.T, nodes []*proc, limit time.Duration) *proc {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			resp, err := http.Get("http://" + n.addr + "/v1/sys/health")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// startRaftCluster starts three nodes, inits the first, joins and unseals
// the others through the CLI, and returns them with the keys and root
// token.
func startRaftCluster(t *testing.T) ([]*proc, []string, string) {
	t.Helper()
	nodes := []*proc{newRaftProc(t, "node1"), newRaftProc(t, "node2"), newRaftProc(t, "node3")}
	for _, n := range nodes {
		n.start()
	}
	var init struct {
		Keys      []string `json:"unseal_keys_b64"`
		RootToken string   `json:"root_token"`
	}
	if err := json.Unmarshal([]byte(nodes[0].cli("", "operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json")), &init); err != nil {
		t.Fatal(err)
	}
	keys := init.Keys
	for _, k := range keys[:2] {
		nodes[0].cli("", "operator", "unseal", k)
	}
	if a := activeOf(t, nodes[:1], 30*time.Second); a == nil {
		t.Fatalf("node1 did not become active:\n%s", nodes[0].logs)
	}
	for _, n := range nodes[1:] {
		if out := n.cli("", "operator", "raft", "join", "http://"+nodes[0].addr); !strings.Contains(out, "true") {
			t.Fatalf("join: %s", out)
		}
		for _, k := range keys[1:3] {
			n.cli("", "operator", "unseal", k)
		}
	}
	return nodes, keys, init.RootToken
}

// TestRaftClusterFailover is issue 15's "done when": three processes on
// Raft, joined through the CLI; writes through the active node; SIGKILL
// of the active node; a standby takes over with every acknowledged write;
// the dead node restarts, unseals and serves the newest value at once.
func TestRaftClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	nodes, keys, root := startRaftCluster(t)
	out := nodes[0].cli(root, "operator", "raft", "list-peers")
	for _, id := range []string{"node1", "node2", "node3"} {
		if !strings.Contains(out, id) {
			t.Fatalf("list-peers lacks %s:\n%s", id, out)
		}
	}
	active := activeOf(t, nodes, 10*time.Second)
	if active == nil {
		t.Fatal("no active node")
	}
	for _, n := range nodes {
		if n != active {
			if code := healthCode(t, n.addr); code != http.StatusTooManyRequests {
				t.Fatalf("standby health = %d, want 429", code)
			}
			ls, err := n.client("").Sys().Leader()
			if err != nil || !ls.HAEnabled || ls.IsSelf || ls.LeaderAddress != "http://"+active.addr {
				t.Fatalf("standby sys/leader = %+v, %v", ls, err)
			}
		}
	}
	// Enable KV through a standby: forwarded to the active node.
	var standby *proc
	for _, n := range nodes {
		if n != active {
			standby = n
		}
	}
	if err := standby.client(root).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount through a standby: %v", err)
	}

	// Writes answer with X-Vault-Index, also when forwarded by a standby,
	// and the index grows.
	var last uint64
	for _, n := range []*proc{active, standby} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+n.addr+"/v1/secret/data/idx", strings.NewReader(`{"data":{"v":"1"}}`))
		req.Header.Set("X-Vault-Token", root)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		st, err := api.ParseReplicationState(resp.Header.Get("X-Vault-Index"), nil)
		if err != nil || resp.StatusCode != http.StatusOK || st.LocalIndex <= last {
			t.Fatalf("write through %s: status %d, X-Vault-Index %+v (previous %d), %v", n.addr, resp.StatusCode, st, last, err)
		}
		last = st.LocalIndex
	}

	acked, killedAt := writeUntilKilled(t, active, root)
	var rest []*proc
	for _, n := range nodes {
		if n != active {
			rest = append(rest, n)
		}
	}
	next := activeOf(t, rest, 10*time.Second)
	if next == nil {
		t.Fatal("no standby became active within 10s of the SIGKILL")
	}
	t.Logf("failover: a standby was active %v after the SIGKILL; %d keys acknowledged", time.Since(killedAt).Round(10*time.Millisecond), len(acked))
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for _, n := range rest { // the new active node and, forwarded, the standby
		checkAcked(t, n, root, acked)
	}

	// The dead node restarts as a standby and, once unsealed, serves the
	// newest value at once.
	active.start()
	for _, k := range keys[:2] {
		active.cli("", "operator", "unseal", k)
	}
	var state string
	if _, err := next.client(root).WithResponseCallbacks(api.RecordState(&state)).KVv2("secret").Put(context.Background(), "w0", map[string]any{"v": "newest"}); err != nil {
		t.Fatal(err)
	}
	s, err := active.client(root).KVv2("secret").Get(context.Background(), "w0")
	if err != nil || s.Data["v"] != "newest" {
		t.Fatalf("restarted node read w0 = %v, %v; want newest", s, err)
	}
	// Also with the write's X-Vault-Index, as Vault's client sends it.
	s, err = active.client(root).WithRequestCallbacks(api.RequireState(state)).KVv2("secret").Get(context.Background(), "w0")
	if err != nil || s.Data["v"] != "newest" {
		t.Fatalf("restarted node read w0 with X-Vault-Index = %v, %v; want newest", s, err)
	}
	if code := healthCode(t, active.addr); code != http.StatusTooManyRequests {
		t.Fatalf("restarted node health = %d, want 429 (standby)", code)
	}

	// Sealing the active node hands the cluster to a standby: a sealed
	// node leaves Raft, so it cannot keep a leadership nobody can use.
	if err := next.client(root).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	var others []*proc
	for _, n := range nodes {
		if n != next {
			others = append(others, n)
		}
	}
	if activeOf(t, others, 20*time.Second) == nil {
		t.Fatal("no node became active after the active node was sealed")
	}
	if code := healthCode(t, next.addr); code != http.StatusServiceUnavailable {
		t.Fatalf("sealed node health = %d, want 503", code)
	}
	for _, k := range keys[:2] {
		next.cli("", "operator", "unseal", k)
	}
	s, err = next.client(root).KVv2("secret").Get(context.Background(), "w0")
	if err != nil || s.Data["v"] != "newest" {
		t.Fatalf("re-unsealed node read w0 = %v, %v", s, err)
	}
}

// cliFails runs the CLI expecting failure and returns its combined output.
func (p *proc) cliFails(token string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(tresorBin, args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR=http://"+p.addr, "VAULT_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err == nil {
		p.t.Fatalf("tresor %s succeeded, want failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// initSingle inits and unseals a one-node Raft cluster.
func initSingle(t *testing.T, p *proc) (key, root string) {
	t.Helper()
	p.start()
	var init struct {
		Keys      []string `json:"unseal_keys_b64"`
		RootToken string   `json:"root_token"`
	}
	if err := json.Unmarshal([]byte(p.cli("", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")), &init); err != nil {
		t.Fatal(err)
	}
	p.cli("", "operator", "unseal", init.Keys[0])
	if activeOf(t, []*proc{p}, 30*time.Second) == nil {
		t.Fatalf("node not active:\n%s", p.logs)
	}
	return init.Keys[0], init.RootToken
}

// TestRaftSnapshotRestore: a snapshot saved on one cluster is refused by
// another without -force, installed with it, and the second cluster then
// unseals with the first one's key and serves its data. A tampered file
// is refused and changes nothing.
func TestRaftSnapshotRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	a, b := newRaftProc(t, "a1"), newRaftProc(t, "b1")
	keyA, rootA := initSingle(t, a)
	if err := a.client(rootA).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client(rootA).KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "from-a"}); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "a.snap")
	a.cli(rootA, "operator", "raft", "snapshot", "save", snap)

	// Same cluster: a restore without -force is accepted.
	if _, err := a.client(rootA).KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "later"}); err != nil {
		t.Fatal(err)
	}
	a.cli(rootA, "operator", "raft", "snapshot", "restore", snap)
	s, err := a.client(rootA).KVv2("secret").Get(context.Background(), "app")
	if err != nil || s.Data["v"] != "from-a" {
		t.Fatalf("after same-cluster restore: %v %v", s, err)
	}

	_, rootB := initSingle(t, b)
	if out := b.cliFails(rootB, "operator", "raft", "snapshot", "restore", snap); !strings.Contains(out, "force") {
		t.Fatalf("foreign snapshot without -force: %s", out)
	}
	raw, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.snap")
	_ = os.WriteFile(bad, raw[:len(raw)/2], 0o600)
	b.cliFails(rootB, "operator", "raft", "snapshot", "restore", "-force", bad)
	if st, _ := b.client("").Sys().SealStatus(); st.Sealed {
		t.Fatal("a refused snapshot sealed the server")
	}
	b.cli(rootB, "operator", "raft", "snapshot", "restore", "-force", snap)
	if st, _ := b.client("").Sys().SealStatus(); !st.Sealed {
		t.Fatal("after a forced restore the server should be sealed")
	}
	b.cli("", "operator", "unseal", keyA)
	if activeOf(t, []*proc{b}, 30*time.Second) == nil {
		t.Fatalf("b not active after unseal:\n%s", b.logs)
	}
	s, err = b.client(rootA).KVv2("secret").Get(context.Background(), "app")
	if err != nil || s.Data["v"] != "from-a" {
		t.Fatalf("b after restore: %v %v", s, err)
	}
}

// TestRaftRetryJoin: a node with a retry_join stanza fetches its join
// challenge by itself (it reports the cluster's seal configuration), and
// an unseal with the cluster's key makes it a standby member.
func TestRaftRetryJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	leader := newRaftProc(t, "r1")
	key, root := initSingle(t, leader)
	joiner := newRaftProc(t, "r2", fmt.Sprintf("  retry_join {\n    leader_api_addr = \"http://%s\"\n  }", leader.addr))
	joiner.start()
	c := joiner.client("")
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Sys().SealStatus()
		if err == nil && st.Initialized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry_join did not fetch a challenge: %+v %v\n%s", st, err, joiner.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	unseal(t, c, key)
	if code := healthCode(t, joiner.addr); code != http.StatusTooManyRequests {
		t.Fatalf("joined node health = %d, want 429", code)
	}
	if out := leader.cli(root, "operator", "raft", "list-peers"); !strings.Contains(out, "r2") {
		t.Fatalf("list-peers lacks r2:\n%s", out)
	}
}
