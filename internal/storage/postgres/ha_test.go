package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/postgres/pgtest"
)

// testTimes shortens the lock's lifetime so the takeover tests finish
// quickly; the relations between the timings are the production ones.
var testTimes = haTimes{ttl: 1500 * time.Millisecond, renew: 500 * time.Millisecond, poll: 100 * time.Millisecond, margin: 250 * time.Millisecond}

// waitTimeout bounds every wait in these tests; it is generous, so a slow
// machine fails no test, and no test asserts a timing.
const waitTimeout = 30 * time.Second

func testHA(t *testing.T, srv *pgtest.Server) {
	var n atomic.Int64
	// node opens a store with HA on the shared lock table "locks" and
	// returns a lock handle advertising name.
	node := func(t *testing.T, table, name string) (*Store, storage.Lock) {
		t.Helper()
		s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL, "table": "ha_kv", "ha_enabled": "true", "ha_table": table})
		if err != nil {
			t.Fatal(err)
		}
		s.haTimes = testTimes
		t.Cleanup(func() { s.Close() })
		h := s.HAStore()
		if h == nil {
			t.Fatal("HAStore is nil with ha_enabled")
		}
		var _ storage.HABackend = h
		l, err := h.HALock("core/lock", name)
		if err != nil {
			t.Fatal(err)
		}
		return s, l
	}
	newTable := func() string { return "locks_" + strings.Repeat("x", int(n.Add(1))) }

	t.Run("CreatesVaultSchema", func(t *testing.T) {
		node(t, DefaultHATable, "a")
		c := connect(t, srv)
		rows, err := c.Query(t.Context(), `SELECT column_name, data_type, is_nullable FROM information_schema.columns
			WHERE table_name = 'vault_ha_locks' ORDER BY ordinal_position`)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var name, typ, null string
			err := r.Scan(&name, &typ, &null)
			return name + " " + typ + " " + null, err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "ha_key text NO, ha_identity text NO, ha_value text YES, valid_until timestamp with time zone NO"
		if got := strings.Join(cols, ", "); got != want {
			t.Errorf("columns = %q, want %q", got, want)
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL, "table": "ha_kv"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if h := s.HAStore(); h != nil {
			t.Error("HAStore without ha_enabled")
		}
		if _, ok := any(s).(storage.HABackend); ok {
			t.Error("a store without ha_enabled is a storage.HABackend")
		}
		if _, err := (&HAStore{Store: s}).HALock("k", "v"); !errors.Is(err, ErrHADisabled) {
			t.Errorf("HALock = %v, want ErrHADisabled", err)
		}
	})

	t.Run("OnlyOneHolds", func(t *testing.T) {
		table := newTable()
		_, a := node(t, table, "node-a")
		_, b := node(t, table, "node-b")
		if held, _, err := a.Value(t.Context()); err != nil || held {
			t.Fatalf("Value before any Lock = %v, %v; want not held", held, err)
		}
		lostA, err := a.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// b must keep waiting while a renews: give it several lifetimes.
		ctx, cancel := context.WithTimeout(t.Context(), 3*testTimes.ttl)
		defer cancel()
		if _, err := b.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Lock = %v, want it to wait until its context ends", err)
		}
		select {
		case <-lostA:
			t.Fatal("holder lost the lock while renewing")
		default:
		}
		for _, l := range []storage.Lock{a, b} {
			held, v, err := l.Value(t.Context())
			if err != nil || !held || v != "node-a" {
				t.Errorf("Value = %v, %q, %v; want held by node-a", held, v, err)
			}
		}
		if _, err := a.Lock(t.Context()); !errors.Is(err, ErrLockHeld) {
			t.Errorf("Lock while held = %v, want ErrLockHeld", err)
		}
	})

	t.Run("UnlockHandsOver", func(t *testing.T) {
		table := newTable()
		_, a := node(t, table, "node-a")
		_, b := node(t, table, "node-b")
		lostA, err := a.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() {
			_, err := b.Lock(t.Context())
			got <- err
		}()
		if err := a.Unlock(t.Context()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lostA:
		default:
			t.Error("Unlock left the lost channel open")
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("waiter never got the released lock")
		}
		if held, v, _ := a.Value(t.Context()); !held || v != "node-b" {
			t.Errorf("Value = %v, %q; want node-b", held, v)
		}
		if err := a.Unlock(t.Context()); err != nil {
			t.Errorf("Unlock of a lock not held = %v", err)
		}
		if err := b.Unlock(t.Context()); err != nil {
			t.Fatal(err)
		}
		if held, _, _ := a.Value(t.Context()); held {
			t.Error("lock still held after the last Unlock")
		}
	})

	t.Run("DeadHolderIsReplaced", func(t *testing.T) {
		table := newTable()
		sa, a := node(t, table, "node-a")
		_, b := node(t, table, "node-b")
		lostA, err := a.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The holder's connections die: it cannot renew any more.
		sa.Close()
		ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
		defer cancel()
		lostB, err := b.Lock(ctx)
		if err != nil {
			t.Fatalf("standby did not take over: %v", err)
		}
		// The dead holder noticed before (or by) the takeover.
		select {
		case <-lostA:
		case <-time.After(waitTimeout):
			t.Fatal("dead holder never closed its lost channel")
		}
		if held, v, err := b.Value(t.Context()); err != nil || !held || v != "node-b" {
			t.Errorf("Value = %v, %q, %v; want node-b", held, v, err)
		}
		select {
		case <-lostB:
			t.Error("new holder's lost channel closed")
		default:
		}
		b.Unlock(t.Context())
	})

	t.Run("KilledHolderProcess", func(t *testing.T) {
		// The holder is another process, with the production timings,
		// killed with SIGKILL while holding the lock.
		table := newTable()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHALockHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+srv.URL+" "+table)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "locked" {
			t.Fatalf("helper said %q, %v", line, err)
		}
		s, err := Open(t.Context(), map[string]string{"connection_url": srv.URL, "table": "ha_kv", "ha_enabled": "true", "ha_table": table})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		b, err := s.HAStore().HALock("core/lock", "node-b")
		if err != nil {
			t.Fatal(err)
		}
		if held, v, err := b.Value(t.Context()); err != nil || !held || v != "helper" {
			t.Fatalf("Value = %v, %q, %v; want held by the helper", held, v, err)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
		defer cancel()
		if _, err := b.Lock(ctx); err != nil {
			t.Fatalf("standby did not take over from the killed holder: %v", err)
		}
		// Reported, not asserted: the lifetime is 3 s and waiters poll
		// every 0.5 s, so this is about 3.5 s at most on a quiet machine.
		t.Logf("took over %.1f s after SIGKILL of the holder", time.Since(killed).Seconds())
		b.Unlock(t.Context())
	})

	t.Run("TakenRowIsLost", func(t *testing.T) {
		table := newTable()
		_, a := node(t, table, "node-a")
		lost, err := a.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Someone steals the row (as if it had expired and been taken).
		c := connect(t, srv)
		if _, err := c.Exec(t.Context(), `UPDATE `+pgx.Identifier{table}.Sanitize()+` SET ha_identity = 'thief'`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lost:
		case <-time.After(waitTimeout):
			t.Fatal("holder did not notice its row was taken")
		}
		// Once the thief's row expires, the same handle can lock again.
		if _, err := c.Exec(t.Context(), `UPDATE `+pgx.Identifier{table}.Sanitize()+` SET valid_until = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
		defer cancel()
		if _, err := a.Lock(ctx); err != nil {
			t.Fatalf("Lock after a loss = %v", err)
		}
		a.Unlock(t.Context())
	})
}

// helperEnv carries "URL TABLE" to TestHALockHelperProcess.
const helperEnv = "TRESOR_PG_LOCK_HELPER"

// TestHALockHelperProcess is not a test: run by KilledHolderProcess in a
// child process, it takes the lock with the production timings, says
// "locked" and holds it until killed (or a minute passes).
func TestHALockHelperProcess(t *testing.T) {
	arg := os.Getenv(helperEnv)
	if arg == "" {
		t.Skip("helper process for the HA tests")
	}
	url, table, _ := strings.Cut(arg, " ")
	s, err := Open(context.Background(), map[string]string{"connection_url": url, "table": "ha_kv", "ha_enabled": "true", "ha_table": table})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.HAStore().HALock("core/lock", "helper")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}
