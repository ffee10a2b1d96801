package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/vault/api"
)

// faultProxy sits in front of a node's cluster port. Cut closes every
// connection through it and refuses new ones until Heal: the node stops
// receiving cluster traffic (Raft and forwarded requests).
type faultProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.Cut(); p.wg.Wait() })
	return p
}

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *faultProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *faultProxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// newProxiedRaftProc is newRaftProc with the advertised cluster address
// on a fault proxy in front of the real one.
func newProxiedRaftProc(t *testing.T, id string) (*proc, *faultProxy) {
	t.Helper()
	real := freePort(t)
	fp := newFaultProxy(t, real)
	return raftProc(t, id, real, fp.ln.Addr().String(), "warn"), fp
}

// KV register model: each key holds a value and KV v2's version.
type kvState struct {
	Value   string
	Version int
}

type kvInput struct {
	Key   string
	Op    string // "read", "write", "cas"
	Value string
	CAS   int
}

type kvOutput struct {
	Unknown bool // the request failed without telling whether it applied
	OK      bool // write applied / cas matched
	Value   string
	Version int
}

var kvModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(kvInput).Key
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() []any { return []any{kvState{}} },
	Hash: func(state any) uint64 {
		s := state.(kvState)
		h := uint64(s.Version) * 1099511628211
		for i := 0; i < len(s.Value); i++ {
			h = (h ^ uint64(s.Value[i])) * 1099511628211
		}
		return h
	},
	Step: func(state, input, output any) []any {
		s, in, out := state.(kvState), input.(kvInput), output.(kvOutput)
		next := kvState{Value: in.Value, Version: s.Version + 1}
		switch in.Op {
		case "read":
			if out.Value == s.Value && out.Version == s.Version {
				return []any{s}
			}
		case "write":
			if out.Unknown || out.Version == next.Version {
				return []any{next}
			}
		case "cas":
			match := s.Version == in.CAS
			switch {
			case out.Unknown && match:
				return []any{next}
			case out.Unknown:
				return []any{s}
			case out.OK && match && out.Version == next.Version:
				return []any{next}
			case !out.OK && !match:
				return []any{s}
			}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		return fmt.Sprintf("%s %s(%q, cas %d) -> %+v", in.Key, in.Op, in.Value, in.CAS, out)
	},
}

// kvDo runs one operation and reports its outcome; ok is false for a read
// that failed (dropped from the history).
func kvDo(ctx context.Context, c *api.Client, in kvInput) (kvOutput, bool) {
	path := "secret/data/" + in.Key
	switch in.Op {
	case "read":
		s, err := c.Logical().ReadWithContext(ctx, path)
		if err != nil {
			return kvOutput{}, false
		}
		if s == nil || s.Data == nil {
			return kvOutput{}, true
		}
		md, _ := s.Data["metadata"].(map[string]any)
		data, _ := s.Data["data"].(map[string]any)
		v, _ := data["v"].(string)
		n, _ := md["version"].(json.Number).Int64()
		return kvOutput{Value: v, Version: int(n)}, true
	default:
		body := map[string]any{"data": map[string]any{"v": in.Value}}
		if in.Op == "cas" {
			body["options"] = map[string]any{"cas": in.CAS}
		}
		s, err := c.Logical().WriteWithContext(ctx, path, body)
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest && in.Op == "cas" &&
			strings.Contains(strings.Join(re.Errors, " "), "check-and-set") {
			return kvOutput{OK: false}, true
		}
		if definitelyNotApplied(err) {
			return kvOutput{}, false
		}
		if err != nil || s == nil {
			return kvOutput{Unknown: true}, true
		}
		n, _ := s.Data["version"].(json.Number).Int64()
		return kvOutput{OK: true, Version: int(n)}, true
	}
}

// definitelyNotApplied tells failures that prove the request never reached
// an active node: refused connections, a standby or sealed node answering
// itself. Such writes are left out of the history.
func definitelyNotApplied(err error) bool {
	if err == nil {
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusServiceUnavailable {
		msg := strings.Join(re.Errors, " ")
		return strings.Contains(msg, "no active node") || strings.Contains(msg, "standby") ||
			strings.Contains(msg, "sealed") || strings.Contains(msg, "not active")
	}
	return false
}

// resolveUnknown settles writes of unknown outcome from the keys' version
// history (every version is kept, each write's value is unique): a write
// whose value is in the history took effect at that version (its return
// stays open), one whose value is absent never did and is dropped. Without
// this, every unknown write stays open to the end of the history and the
// checker's search explodes on long runs.
func resolveUnknown(t *testing.T, nodes []*proc, root string, history []porcupine.Operation) []porcupine.Operation {
	t.Helper()
	active := activeOf(t, nodes, 30*time.Second)
	if active == nil {
		t.Fatal("no active node to resolve unknown outcomes")
	}
	c := active.client(root)
	version := map[string]map[string]int{} // key → value → version
	for _, op := range history {
		in := op.Input.(kvInput)
		if !op.Output.(kvOutput).Unknown || version[in.Key] != nil {
			continue
		}
		version[in.Key] = map[string]int{}
		md, err := c.Logical().Read("secret/metadata/" + in.Key)
		if err != nil || md == nil {
			t.Fatalf("metadata of %s: %v", in.Key, err)
		}
		cur, _ := md.Data["current_version"].(json.Number).Int64()
		for v := int64(1); v <= cur; v++ {
			s, err := c.Logical().ReadWithData("secret/data/"+in.Key, map[string][]string{"version": {strconv.FormatInt(v, 10)}})
			if err != nil || s == nil {
				t.Fatalf("version %d of %s: %v", v, in.Key, err)
			}
			data, _ := s.Data["data"].(map[string]any)
			val, _ := data["v"].(string)
			version[in.Key][val] = int(v)
		}
	}
	out := history[:0]
	for _, op := range history {
		o := op.Output.(kvOutput)
		if o.Unknown {
			in := op.Input.(kvInput)
			v, ok := version[in.Key][in.Value]
			if !ok {
				continue // never applied
			}
			op.Output = kvOutput{OK: true, Version: v}
		}
		out = append(out, op)
	}
	return out
}

// TestLinearizability runs concurrent KV v2 reads, writes and CAS against
// all three nodes (standbys forward) while nodes are frozen (SIGSTOP, a
// symmetric partition), cut off from cluster traffic by a proxy, killed
// and restarted; porcupine then checks the history. Short by default; set
// TRESOR_LINEARIZABILITY_SECONDS for a longer run (scripts/linearizability.sh).
func TestLinearizability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	duration := 8 * time.Second
	if s := os.Getenv("TRESOR_LINEARIZABILITY_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TRESOR_LINEARIZABILITY_SECONDS=%q: want a positive integer", s)
		}
		duration = time.Duration(n) * time.Second
	}
	maxOps := int(duration/time.Second) * 400

	nodes := make([]*proc, 3)
	proxies := make([]*faultProxy, 3)
	for i := range nodes {
		nodes[i], proxies[i] = newProxiedRaftProc(t, fmt.Sprintf("node%d", i+1))
		nodes[i].start()
	}
	var init struct {
		Keys      []string `json:"unseal_keys_b64"`
		RootToken string   `json:"root_token"`
	}
	if err := json.Unmarshal([]byte(nodes[0].cli("", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")), &init); err != nil {
		t.Fatal(err)
	}
	key, root := init.Keys[0], init.RootToken
	nodes[0].cli("", "operator", "unseal", key)
	if activeOf(t, nodes[:1], 30*time.Second) == nil {
		t.Fatal("node1 not active")
	}
	for _, n := range nodes[1:] {
		n.cli("", "operator", "raft", "join", "http://"+nodes[0].addr)
		n.cli("", "operator", "unseal", key)
	}
	if err := nodes[0].client(root).Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	// Keep every version, so writes of unknown outcome can be resolved
	// afterwards from the key's history.
	if _, err := nodes[0].client(root).Logical().Write("secret/config", map[string]any{"max_versions": 1000000}); err != nil {
		t.Fatal(err)
	}
	// Let both joiners become voters before faults start.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := nodes[0].cli(root, "operator", "raft", "list-peers", "-format=json")
		if strings.Count(out, `"voter": true`) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers did not all become voters:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	start := time.Now()
	now := func() int64 { return time.Since(start).Nanoseconds() }
	var mu sync.Mutex
	var history []porcupine.Operation
	var pending int
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	const clients = 6
	keys := []string{"x", "y", "z"}
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cl), 7))
			conns := make([]*api.Client, len(nodes))
			for i, n := range nodes {
				conns[i] = n.client(root)
				conns[i].SetClientTimeout(3 * time.Second)
			}
			lastVersion := map[string]int{}
			for i := 0; ctx.Err() == nil; i++ {
				mu.Lock()
				full := len(history)+pending >= maxOps
				if !full {
					pending++
				}
				mu.Unlock()
				if full {
					return
				}
				in := kvInput{Key: keys[rng.IntN(len(keys))], Value: fmt.Sprintf("c%d-%d", cl, i)}
				switch r := rng.IntN(10); {
				case r < 5:
					in.Op = "read"
				case r < 8:
					in.Op = "write"
				default:
					in.Op, in.CAS = "cas", lastVersion[in.Key]
				}
				c := conns[rng.IntN(len(conns))]
				call := now()
				out, keep := kvDo(context.Background(), c, in)
				ret := now()
				if out.Unknown {
					ret = int64(1) << 62 // may take effect at any later time
				}
				if in.Op == "read" && keep {
					lastVersion[in.Key] = out.Version
				}
				mu.Lock()
				pending--
				if keep {
					history = append(history, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: out, Return: ret})
				}
				mu.Unlock()
			}
		})
	}

	// Faults, in rounds until the run ends.
	faults := []string{}
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	frng := rand.New(rand.NewPCG(42, 42))
	for round := 0; sleep(700 * time.Millisecond); round++ {
		active := activeOf(t, nodes, 5*time.Second)
		victim := frng.IntN(len(nodes))
		switch round % 3 {
		case 0: // freeze the active node: a symmetric partition
			if active != nil {
				for i, n := range nodes {
					if n == active {
						victim = i
					}
				}
			}
			_ = nodes[victim].cmd.Process.Signal(syscall.SIGSTOP)
			sleep(2500 * time.Millisecond)
			_ = nodes[victim].cmd.Process.Signal(syscall.SIGCONT)
			faults = append(faults, fmt.Sprintf("froze node%d (active=%v) 2.5s", victim+1, active == nodes[victim]))
		case 1: // cut a node's cluster port
			proxies[victim].Cut()
			sleep(2 * time.Second)
			proxies[victim].Heal()
			faults = append(faults, fmt.Sprintf("cut node%d's cluster port 2s", victim+1))
		case 2: // kill and restart a node
			nodes[victim].stop(syscall.SIGKILL)
			sleep(time.Second)
			nodes[victim].start()
			nodes[victim].cli("", "operator", "unseal", key)
			faults = append(faults, fmt.Sprintf("killed node%d (active=%v), restarted, unsealed", victim+1, active == nodes[victim]))
		}
	}
	wg.Wait()
	for i := range nodes {
		proxies[i].Heal()
		_ = nodes[i].cmd.Process.Signal(syscall.SIGCONT)
	}
	elapsed := time.Since(start)

	history = resolveUnknown(t, nodes, root, history)
	var reads, writes, unknown int
	for _, op := range history {
		if op.Input.(kvInput).Op == "read" {
			reads++
		} else {
			writes++
		}
		if op.Return == int64(1)<<62 {
			unknown++
		}
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel.ToModel(), history, 30*time.Second+duration)
	t.Logf("linearizability: %d operations (%d reads, %d writes/CAS, %d of unknown outcome, resolved from the version history) in %v; faults: %s; result: %s",
		len(history), reads, writes, unknown, elapsed.Round(100*time.Millisecond), strings.Join(faults, "; "), res)
	if res != porcupine.Ok {
		f := filepath.Join(os.TempDir(), "tresor-linearizability.html")
		if err := porcupine.VisualizePath(kvModel.ToModel(), info, f); err == nil {
			t.Logf("visualization: %s", f)
		}
		t.Fatalf("history is not linearizable (%s)", res)
	}
	if reads == 0 || writes == 0 {
		t.Fatal("no operations completed")
	}
}
