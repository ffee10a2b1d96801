package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/server"
)

// routeReads is the active node's count of reads of mount "secret/" it
// served, from its Prometheus metrics.
func routeReads(t *testing.T, p *proc, root string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/sys/metrics?format=prometheus", nil)
	req.Header.Set("X-Vault-Token", root)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), `vault_route_count{mount="secret/",operation="read"} `); ok {
			n, _ := strconv.Atoi(rest)
			return n
		}
	}
	return 0
}

// readVia reads secret/data/<key> from node p with a raw request, with the
// given X-Vault-Index values; it returns the status, the value of field v
// and the answer's X-Vault-Index.
func readVia(t *testing.T, p *proc, token, key string, index ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/secret/data/"+key, nil)
	req.Header.Set("X-Vault-Token", token)
	for _, v := range index {
		req.Header.Add("X-Vault-Index", v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s, err := api.ParseSecret(resp.Body)
	v := ""
	if err == nil && s != nil {
		if d, ok := s.Data["data"].(map[string]any); ok {
			v = fmt.Sprint(d["v"])
		}
	}
	return resp.StatusCode, v, resp.Header.Get("X-Vault-Index")
}

// TestRaftStandbyReads is issue 15's standby reads: a standby answers KV
// reads itself, never older than the client's last write (with or without
// X-Vault-Index), and never with a token, policy or mount the active node
// has changed; what it may not answer it forwards.
func TestRaftStandbyReads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	nodes, _, root := startRaftCluster(t)
	active := activeOf(t, nodes, 10*time.Second)
	if active == nil {
		t.Fatal("no active node")
	}
	var standbys []*proc
	for _, n := range nodes {
		if n != active {
			standbys = append(standbys, n)
		}
	}
	ctx := context.Background()
	ac := active.client(root)
	if err := ac.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	kv := ac.KVv2("secret")

	// Read-your-writes: every read through a standby right after a write
	// through the active node sees that write; a third of them carry the
	// write's X-Vault-Index, the others rely on the active's read index.
	before := routeReads(t, active, root)
	const rounds = 150
	for i := range rounds {
		var state string
		c := ac.WithResponseCallbacks(api.RecordState(&state))
		if _, err := c.KVv2("secret").Put(ctx, "ryw", map[string]any{"v": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		var idx []string
		if i%3 == 0 {
			idx = []string{state}
		}
		code, v, got := readVia(t, standbys[i%2], root, "ryw", idx...)
		if code != http.StatusOK || v != strconv.Itoa(i) {
			t.Fatalf("round %d: standby read = %d %q, want %d", i, code, v, i)
		}
		if st, err := api.ParseReplicationState(got, nil); err != nil || st.LocalIndex == 0 {
			t.Fatalf("round %d: answer's X-Vault-Index %q: %+v, %v", i, got, st, err)
		}
	}
	// The Vault client's own consistency helpers work against a standby.
	var state string
	if _, err := ac.WithResponseCallbacks(api.RecordState(&state)).KVv2("secret").Put(ctx, "ryw", map[string]any{"v": "client"}); err != nil {
		t.Fatal(err)
	}
	s, err := standbys[0].client(root).WithRequestCallbacks(api.RequireState(state)).KVv2("secret").Get(ctx, "ryw")
	if err != nil || s.Data["v"] != "client" {
		t.Fatalf("RequireState read = %v, %v", s, err)
	}
	// The standbys answered those reads themselves: the active node served
	// (almost) none. A few may be forwarded while a standby reloads.
	if served := routeReads(t, active, root) - before; served > rounds/10 {
		t.Fatalf("the active node served %d of %d standby reads; standbys should answer them", served, rounds+1)
	}

	// Tokens and policies changed on the active node bind the standbys at
	// once.
	if err := ac.Sys().PutPolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	sec, err := ac.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := sec.Auth.ClientToken
	for _, sb := range standbys {
		if code, _, _ := readVia(t, sb, tok, "ryw"); code != http.StatusOK {
			t.Fatalf("new token through a standby: %d", code)
		}
	}
	if err := ac.Sys().PutPolicy("reader", `path "secret/data/other" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		if code, _, _ := readVia(t, sb, tok, "ryw"); code != http.StatusForbidden {
			t.Fatalf("narrowed policy through a standby: %d, want 403", code)
		}
	}
	if err := ac.Sys().PutPolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		if code, _, _ := readVia(t, sb, tok, "ryw"); code != http.StatusOK {
			t.Fatalf("widened policy through a standby: %d", code)
		}
	}
	if err := ac.Auth().Token().RevokeTree(tok); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		if code, _, _ := readVia(t, sb, tok, "ryw"); code != http.StatusForbidden {
			t.Fatalf("revoked token through a standby: %d, want 403", code)
		}
	}

	// A token with a use limit is counted by the active node, wherever it
	// is used.
	sec, err = ac.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"reader"}, NumUses: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusForbidden} {
		if code, _, _ := readVia(t, standbys[i%2], sec.Auth.ClientToken, "ryw"); code != want {
			t.Fatalf("use %d of a 2-use token through a standby: %d, want %d", i+1, code, want)
		}
	}

	// Keyring rotation and a new mount: the standbys read what is written
	// after them.
	if err := ac.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "rotated", map[string]any{"v": "new-term"}); err != nil {
		t.Fatal(err)
	}
	if err := ac.Sys().Mount("other", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Logical().Write("other/k", map[string]any{"v": "v1"}); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		if code, v, _ := readVia(t, sb, root, "rotated"); code != http.StatusOK || v != "new-term" {
			t.Fatalf("after rotation: %d %q", code, v)
		}
		s, err := sb.client(root).Logical().Read("other/k")
		if err != nil || s == nil || s.Data["v"] != "v1" {
			t.Fatalf("new KV v1 mount through a standby: %v, %v", s, err)
		}
	}

	// A wrapped read needs a token only the active node can make: it is
	// forwarded and unwraps.
	wc := standbys[0].client(root)
	wc.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	ws, err := wc.Logical().Read("secret/data/rotated")
	if err != nil || ws == nil || ws.WrapInfo == nil {
		t.Fatalf("wrapped read through a standby: %v, %v", ws, err)
	}
	un, err := ac.Logical().Unwrap(ws.WrapInfo.Token)
	if err != nil || un.Data["data"].(map[string]any)["v"] != "new-term" {
		t.Fatalf("unwrap: %v, %v", un, err)
	}

	// An index the cluster never reached: the standby waits a bounded time,
	// then forwards, and the answer is still right.
	if code, v, _ := readVia(t, standbys[0], root, "rotated", server.EncodeIndex(1<<40)); code != http.StatusOK || v != "new-term" {
		t.Fatalf("unreachable index: %d %q", code, v)
	}
}
