package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type kvMode int

const (
	kvRead  kvMode = iota // GET Name/data/bench/<i>
	kvWrite               // POST Name/data/bench/<i>
	kvMixed               // kvMixedReads% reads, the rest writes
	kvList                // LIST Name/metadata/bench/ (all -keys keys)
)

// kvMixedReads is the read share of kv-mixed, in percent: a read-mostly
// application.
const kvMixedReads = 90

// kvReadyTimeout bounds the wait for a new KV v2 mount to accept writes;
// Vault upgrades a fresh mount in the background and answers errors until
// it is done.
const kvReadyTimeout = 30 * time.Second

// kv is the KV version 2 workloads. Setup mounts kv-v2 at Name/ and writes
// Keys secrets of ValueSize bytes under bench/; Teardown unmounts it.
type kv struct {
	mode    kvMode
	c       *Client
	mounted bool
	reads   []*Request // one per key
	writes  []*Request // one per key, sharing one body
	list    *Request
}

func (w *kv) Name() string {
	return [...]string{kvRead: "kv-read", kvWrite: "kv-write", kvMixed: "kv-mixed", kvList: "kv-list"}[w.mode]
}

func (w *kv) Setup(ctx context.Context, env *Env) error {
	w.c = env.Client
	mount := env.Name
	err := w.c.Call(ctx, "POST", "sys/mounts/"+mount, map[string]any{
		"type":        "kv",
		"description": "tresor bench (temporary)",
		"options":     map[string]string{"version": "2"},
	}, nil)
	if err != nil {
		return fmt.Errorf("mount kv-v2 at %s/: %w", mount, err)
	}
	w.mounted = true

	body, err := kvBody(env.ValueSize)
	if err != nil {
		return err
	}
	w.reads = make([]*Request, env.Keys)
	w.writes = make([]*Request, env.Keys)
	for i := range env.Keys {
		p := mount + "/data/bench/" + strconv.Itoa(i)
		w.reads[i] = w.c.Prepare("GET", p, nil)
		w.writes[i] = w.c.Prepare("POST", p, body)
	}
	w.list = w.c.Prepare("GET", mount+"/metadata/bench/?list=true", nil)

	if err := w.waitWritable(ctx); err != nil {
		return err
	}
	return w.preload(ctx, min(env.Concurrency, 64))
}

// kvBody is a write body whose secret has one value of size bytes.
func kvBody(size int) ([]byte, error) {
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(rand.IntN(26))
	}
	b, err := json.Marshal(map[string]any{"data": map[string]string{"value": string(v)}})
	if err != nil {
		return nil, fmt.Errorf("kv body: %w", err)
	}
	return b, nil
}

// waitWritable writes key 0 until the fresh mount accepts it.
func (w *kv) waitWritable(ctx context.Context) error {
	deadline := time.Now().Add(kvReadyTimeout)
	for {
		status, err := w.c.Send(ctx, w.writes[0])
		if err == nil && status/100 == 2 {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			return fmt.Errorf("kv mount not writable after %v: %w", kvReadyTimeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// preload writes every key with n parallel writers.
func (w *kv) preload(ctx context.Context, n int) error {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(w.writes) || ctx.Err() != nil {
					return
				}
				status, err := w.c.Send(ctx, w.writes[i])
				if err == nil && status/100 != 2 {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("preload key %d: %w", i, err))
					mu.Unlock()
					next.Store(int64(len(w.writes))) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

func (w *kv) Do(ctx context.Context, _ int) (int, error) {
	i := rand.IntN(len(w.reads))
	switch w.mode {
	case kvWrite:
		return w.c.Send(ctx, w.writes[i])
	case kvMixed:
		if rand.IntN(100) >= kvMixedReads {
			return w.c.Send(ctx, w.writes[i])
		}
	case kvList:
		return w.c.Send(ctx, w.list)
	}
	return w.c.Send(ctx, w.reads[i])
}

func (w *kv) Teardown(ctx context.Context, env *Env) error {
	if !w.mounted {
		return nil
	}
	if err := w.c.Call(ctx, "DELETE", "sys/mounts/"+env.Name, nil, nil); err != nil {
		return fmt.Errorf("unmount %s/: %w", env.Name, err)
	}
	w.mounted = false
	return nil
}
