package bench

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Workload is one kind of request the benchmark sends.
//
// Setup prepares the server (mounts, users, keys) and is called once before
// any Do; an error aborts the run, and Teardown is still called so that a
// half-done setup is undone. Do sends one request for the given worker
// (0 ≤ worker < Env.Concurrency) and is called concurrently from every
// worker; it returns the HTTP status, or an error when no response arrived.
// A non-2xx status is counted as an error by the caller, not by Do.
// Teardown removes whatever Setup created and must tolerate a Setup that
// failed part way.
type Workload interface {
	Name() string
	Setup(ctx context.Context, env *Env) error
	Do(ctx context.Context, worker int) (status int, err error)
	Teardown(ctx context.Context, env *Env) error
}

// Env is what a workload may use to set itself up.
type Env struct {
	// Client talks to the server with the user's token.
	Client *Client
	// Name is this run's throwaway mount name, without slashes, e.g.
	// "bench-3fa9c1d2". Secrets engines mount at Name/, auth methods at
	// auth/Name/.
	Name string
	// Keys and ValueSize size the KV data set.
	Keys, ValueSize int
	// Concurrency is the number of workers that will call Do.
	Concurrency int
	// TTL is how long tokens and credentials made by Setup must stay
	// valid: the whole run plus a margin. Teardown revokes them sooner.
	TTL time.Duration
}

// ttlString is env.TTL in Vault's duration syntax, at least a minute.
func ttlString(env *Env) string {
	return strconv.Itoa(int(max(env.TTL, time.Minute).Seconds())) + "s"
}

// workloads is the table of workloads by name. Adding one is a file with
// its type and a line here.
var workloads = map[string]func() Workload{
	"health":         func() Workload { return &health{} },
	"kv-read":        func() Workload { return &kv{mode: kvRead} },
	"kv-write":       func() Workload { return &kv{mode: kvWrite} },
	"kv-mixed":       func() Workload { return &kv{mode: kvMixed} },
	"kv-list":        func() Workload { return &kv{mode: kvList} },
	"token-create":   func() Workload { return &tokenCreate{} },
	"token-lookup":   func() Workload { return &tokenLookup{} },
	"approle-login":  func() Workload { return &approleLogin{} },
	"userpass-login": func() Workload { return &userpassLogin{} },
	"jwt-login":      func() Workload { return &jwtLogin{} },

	"transit-encrypt":       func() Workload { return &crypto{mode: transitEncrypt} },
	"transit-encrypt-batch": func() Workload { return &crypto{mode: transitEncryptBatch} },
	"pki-issue-ec":          func() Workload { return &crypto{mode: pkiIssueEC} },
	"pki-issue-rsa":         func() Workload { return &crypto{mode: pkiIssueRSA} },
}

// workloadNames lists the table's names, sorted, for usage text.
func workloadNames() string {
	names := make([]string, 0, len(workloads))
	for n := range workloads {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, "|")
}
