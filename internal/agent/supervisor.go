package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"
)

// This file runs the services of one machine of a registry: it logs in
// with the machine's AppRole, reads each service's secrets, starts the
// service with exactly its variables (and its certificate files and env
// file), restarts it with a backoff when it crashes, and rotates: every
// rotation_interval the secrets of each auto_rotate service are read
// again, and only the services whose values changed are restarted, one at
// a time, each gated by its health_command — a failed check puts the
// previous values back.

// SuperviseOptions describe one "tresor agent -registry".
type SuperviseOptions struct {
	Registry *Registry
	Machine  string
	// Client is configured with the server's address; the supervisor sets
	// its token. Method, when nil, is the machine's AppRole.
	Client *api.Client
	Method Method
	// Environ is the base environment of every service (PATH, HOME...);
	// VAULT_* and TRESOR_* entries are left out.
	Environ        []string
	Stdout, Stderr io.Writer
	Logger         *slog.Logger
	// StatusFile, when set, receives the status (JSON, mode 0600) after
	// every change.
	StatusFile string
	// HealthTimeout bounds the wait for a health_command to exit 0 after a
	// restart (default 30s); it is run every HealthInterval (default 1s)
	// until it does.
	HealthTimeout, HealthInterval time.Duration
	// MinBackoff and MaxBackoff bound the waits between restarts of a
	// crashing service and between attempts to read the secrets of a
	// service that could not start (defaults 1s and 1m).
	MinBackoff, MaxBackoff time.Duration
	// Grace is how long a service has to stop before it is killed (5s).
	Grace time.Duration
	// Signals: SIGTERM and SIGINT stop every service and return; the
	// others are forwarded to every service.
	Signals <-chan os.Signal
}

// MachineMethod is the AppRole login of a registry machine.
func MachineMethod(reg *Registry, m *Machine) (Method, error) {
	if m.RoleID == "" && m.RoleIDFile == "" {
		return nil, fmt.Errorf("%s:%d: machine %q has neither vault_role_id nor vault_role_id_file", reg.File, m.Line, m.Name)
	}
	return &AppRole{
		Mount: m.AppRoleMount, RoleID: m.RoleID, SecretID: m.SecretID,
		RoleIDFile: m.RoleIDFile, SecretIDFile: m.SecretIDFile,
	}, nil
}

// Service states as the status shows them.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StateFailed   = "failed"  // secrets unreadable or the command would not start
	StateCrashed  = "crashed" // exited; restarting after a backoff
	StateStopped  = "stopped"
	StateApplied  = "applied" // no command: files written, restart_command run
)

// certData is the content of a vault_certs secret.
type certData struct{ cert, key, ca string }

// snapshot is everything a service runs with.
type snapshot struct {
	vars     map[string]string // variable → value
	versions map[string]int    // path → KV version (0: not versioned)
	certs    *certData
	leases   []lease
}

type lease struct {
	path    string
	id      string
	ttl     time.Duration
	expires time.Time // when it is renewed or replaced (two thirds of the lease)
}

// newLease records a lease obtained (or renewed) now.
func newLease(path, id string, ttl time.Duration, now time.Time) lease {
	return lease{path: path, id: id, ttl: ttl, expires: now.Add(ttl * 2 / 3)}
}

// fingerprint identifies the values (not the versions) of a snapshot; it
// stays in memory.
func (s *snapshot) fingerprint() [32]byte {
	h := sha256.New()
	names := make([]string, 0, len(s.vars))
	for k := range s.vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(s.vars[k]), s.vars[k])
	}
	if c := s.certs; c != nil {
		fmt.Fprintf(h, "|%d:%s%d:%s%d:%s", len(c.cert), c.cert, len(c.key), c.key, len(c.ca), c.ca)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// service is the supervisor's state of one service.
type service struct {
	svc   *Service
	child *Child

	mu           sync.Mutex
	snap         *snapshot
	env          []string
	state        string
	lastError    string
	starts       int
	lastRotation time.Time
	rotation     string // "ok", "failed (rolled back)", ...
	rejected     *[32]byte
	nextCheck    time.Time
	failures     int
}

// Supervisor runs the services of one machine.
type Supervisor struct {
	opts     SuperviseOptions
	log      *slog.Logger
	client   *api.Client
	resolver *Resolver
	services []*service
	base     []string
	statusMu sync.Mutex
}

// Supervise runs the machine's services until ctx ends or a SIGTERM
// arrives, then stops them.
func Supervise(ctx context.Context, opts SuperviseOptions) error {
	if opts.Registry == nil || opts.Client == nil {
		return errors.New("supervise: registry and client are required")
	}
	m := opts.Registry.Machines[opts.Machine]
	if m == nil {
		return fmt.Errorf("%s: no machine %q under machines:", opts.Registry.File, opts.Machine)
	}
	svcs := opts.Registry.MachineServices(opts.Machine)
	if len(svcs) == 0 {
		return fmt.Errorf("%s: no service runs on machine %q", opts.Registry.File, opts.Machine)
	}
	if opts.Method == nil {
		var err error
		if opts.Method, err = MachineMethod(opts.Registry, m); err != nil {
			return err
		}
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 30 * time.Second
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(time.Minute, opts.MinBackoff)
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{opts: opts, log: log, client: opts.Client, resolver: NewResolver(opts.Client)}
	for _, e := range opts.Environ {
		if strings.HasPrefix(e, "VAULT_") || strings.HasPrefix(e, "TRESOR_") {
			continue
		}
		s.base = append(s.base, e)
	}
	for _, sv := range svcs {
		st := &service{svc: sv, state: StateStarting}
		if len(sv.Command) > 0 {
			st.child = &Child{Command: sv.Command, Stdout: opts.Stdout, Stderr: opts.Stderr, Grace: opts.Grace}
		}
		s.services = append(s.services, st)
	}
	for _, st := range s.services {
		if st.svc.EnvFile != "" {
			if err := CheckMemoryFS(filepath.Dir(st.svc.EnvFile)); err != nil {
				return fmt.Errorf("%s:%d: service %q: env_file must be on tmpfs or ramfs: %w", opts.Registry.File, st.svc.Line, st.svc.Name, err)
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keeper := NewKeeper(s.client, opts.Method, nil, KeeperOptions{
		MinBackoff: opts.MinBackoff, MaxBackoff: max(opts.MaxBackoff, 5*time.Second), Logger: log,
	})
	s.writeStatus()
	// While the server cannot be reached, SIGTERM still ends the agent.
	loginCtx, loggedIn := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		for {
			select {
			case <-loginCtx.Done():
				return
			case sig := <-opts.Signals:
				if sig == syscall.SIGTERM || sig == syscall.SIGINT {
					cancel()
					return
				}
			}
		}
	}()
	err := keeper.LoginRetry(ctx)
	loggedIn()
	// The watcher must be gone before the services start: a signal meant
	// for them (SIGHUP) must reach the loop below, not a watcher still
	// running its last select.
	<-watching
	if err != nil {
		return nil // stopped before a login
	}
	log.Info("logged in", "machine", opts.Machine)
	go keeper.Run(ctx)

	var wg sync.WaitGroup
	defer func() {
		cancel()
		// Every service gets its stop signal at once, and its grace period.
		var stops sync.WaitGroup
		for _, st := range s.services {
			stops.Add(1)
			go func() {
				defer stops.Done()
				if st.child != nil {
					st.child.Stop()
				}
				st.mu.Lock()
				if st.state != StateFailed {
					st.state = StateStopped
				}
				st.mu.Unlock()
			}()
		}
		stops.Wait()
		wg.Wait()
		s.writeStatus()
	}()

	now := time.Now()
	for _, st := range s.services {
		s.start(ctx, st)
		st.mu.Lock()
		st.nextCheck = s.nextCheck(st, now)
		st.mu.Unlock()
		if st.child != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.keepAlive(ctx, st) }()
		}
	}
	s.writeStatus()

	for {
		wait := time.Hour
		now := time.Now()
		for _, st := range s.services {
			st.mu.Lock()
			if !st.nextCheck.IsZero() {
				wait = min(wait, st.nextCheck.Sub(now))
			}
			st.mu.Unlock()
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case sig := <-opts.Signals:
			t.Stop()
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				log.Info("stopping every service", "signal", sig.String())
				return nil
			}
			for _, st := range s.services {
				if st.child != nil {
					st.child.Signal(sig)
				}
			}
		case <-t.C:
			s.check(ctx)
		}
	}
}

// nextCheck is when st's secrets are read next: its rotation interval,
// sooner when a lease nears its end, a backoff when it could not start;
// zero for never.
func (s *Supervisor) nextCheck(st *service, now time.Time) time.Time {
	if st.state == StateFailed {
		return now.Add(backoff(st.failures, s.opts.MinBackoff, s.opts.MaxBackoff))
	}
	var next time.Time
	if st.svc.AutoRotate {
		next = now.Add(st.svc.RotationInterval)
	}
	if st.snap != nil {
		for _, l := range st.snap.leases {
			at := l.expires
			if soonest := now.Add(s.opts.MinBackoff); at.Before(soonest) {
				at = soonest // never a busy loop on a lease already due
			}
			if next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	return next
}

// start reads st's secrets and starts it; a failure leaves it failed.
func (s *Supervisor) start(ctx context.Context, st *service) {
	snap, err := s.read(ctx, st.svc, nil, nil)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		st.state, st.lastError = StateFailed, err.Error()
		st.failures++
		s.log.Error("service not started: its secrets cannot be read", "service", st.svc.Name, "error", err)
		return
	}
	if err := s.apply(ctx, st, snap, false); err != nil {
		st.state, st.lastError = StateFailed, err.Error()
		st.failures++
		s.log.Error("service not started", "service", st.svc.Name, "error", err)
		return
	}
	st.failures, st.lastError = 0, ""
	s.log.Info("service started", "service", st.svc.Name, "paths", strings.Join(st.svc.Paths(), ","))
}

// keepAlive restarts st's command when it exits by itself, backing off
// while it keeps crashing.
func (s *Supervisor) keepAlive(ctx context.Context, st *service) {
	crashes := 0
	for {
		started := time.Now()
		var code int
		select {
		case <-ctx.Done():
			return
		case code = <-st.child.Exited():
		}
		if time.Since(started) > s.opts.MaxBackoff {
			crashes = 0
		}
		crashes++
		st.mu.Lock()
		st.state = StateCrashed
		st.mu.Unlock()
		s.writeStatus()
		wait := backoff(crashes, s.opts.MinBackoff, s.opts.MaxBackoff)
		s.log.Warn("service exited; restarting", "service", st.svc.Name, "status", code, "in", wait.String())
		if !sleep(ctx, wait) {
			return
		}
		st.mu.Lock()
		if st.state == StateCrashed { // not restarted by a rotation meanwhile
			if err := st.child.Start(st.env); err != nil {
				st.state, st.lastError = StateFailed, err.Error()
				s.log.Error("service restart failed", "service", st.svc.Name, "error", err)
			} else {
				st.state = StateRunning
				st.starts++
			}
		}
		st.mu.Unlock()
		s.writeStatus()
	}
}

// read fetches every value st runs with. cache shares one read of a path
// among the services checked together; prev supplies the dynamic
// credentials still valid. Errors name the service and the reference.
func (s *Supervisor) read(ctx context.Context, svc *Service, cache map[Dependency]*api.Secret, prev *snapshot) (*snapshot, error) {
	snap := &snapshot{vars: map[string]string{}, versions: map[string]int{}}
	get := func(path, key string) (string, bool, error) {
		ref := Ref{Scheme: "vault", Path: path, Key: key}
		bs, err := s.resolver.Bind(ctx, []Ref{ref})
		if err != nil {
			return "", false, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		b := bs[0]
		sec, ok := cache[b.Dep]
		if !ok {
			if sec, err = fetch(ctx, s.client, b.Dep); err != nil {
				return "", false, fmt.Errorf("service %q: %w", svc.Name, &RefError{Ref: ref, Err: err})
			}
			if cache != nil {
				cache[b.Dep] = sec
			}
		}
		snap.versions[path] = kvVersion(sec, b.kv2)
		v, err := b.Value(sec)
		if errors.Is(err, ErrKeyMissing) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("service %q: %w", svc.Name, &RefError{Ref: ref, Err: err})
		}
		return v, true, nil
	}
	var errs []error
	for _, v := range svc.Vars {
		val, ok, err := get(v.Path, v.Key)
		if err == nil && !ok {
			err = fmt.Errorf("service %q: %w", svc.Name, &RefError{Ref: Ref{Scheme: "vault", Path: v.Path, Key: v.Key}, Err: ErrKeyMissing})
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		snap.vars[v.Name] = val
	}
	if c := svc.Certs; c != nil {
		var d certData
		for _, f := range []struct {
			key      string
			dst      *string
			required bool
		}{{"cert", &d.cert, true}, {"key", &d.key, true}, {"ca", &d.ca, false}} {
			val, ok, err := get(c.Path, f.key)
			if err == nil && !ok && f.required {
				err = fmt.Errorf("service %q: vault_certs: %w", svc.Name, &RefError{Ref: Ref{Scheme: "vault", Path: c.Path, Key: f.key}, Err: ErrKeyMissing})
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*f.dst = val
		}
		snap.certs = &d
	}
	now := time.Now()
	for _, d := range svc.Dynamic {
		if old := prev.leaseFor(d.Path()); old != nil {
			keep := now.Before(old.expires)
			renewed := *old
			if !keep {
				keep, renewed = s.renew(ctx, svc, *old, now)
			}
			if keep || !svc.AutoRotate {
				// Still valid, renewed, or (without auto_rotate) kept
				// until the service is restarted.
				snap.vars[d.EnvPrefix+"_USERNAME"] = prev.vars[d.EnvPrefix+"_USERNAME"]
				snap.vars[d.EnvPrefix+"_PASSWORD"] = prev.vars[d.EnvPrefix+"_PASSWORD"]
				if keep {
					snap.leases = append(snap.leases, renewed)
				}
				snap.versions[d.Path()] = 0
				continue
			}
		}
		sec, err := fetch(ctx, s.client, Dependency{Path: d.Path()})
		ref := Ref{Scheme: "vault", Path: d.Path(), Key: "username"}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %q: vault_dynamic: %w", svc.Name, &RefError{Ref: ref, Err: err}))
			continue
		}
		user, _ := sec.Data["username"].(string)
		pass, _ := sec.Data["password"].(string)
		if user == "" || pass == "" {
			errs = append(errs, fmt.Errorf("service %q: vault_dynamic %s: no username and password in the answer", svc.Name, d.Path()))
			continue
		}
		snap.vars[d.EnvPrefix+"_USERNAME"] = user
		snap.vars[d.EnvPrefix+"_PASSWORD"] = pass
		snap.versions[d.Path()] = 0
		if sec.LeaseDuration > 0 {
			snap.leases = append(snap.leases, newLease(d.Path(), sec.LeaseID, time.Duration(sec.LeaseDuration)*time.Second, now))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return snap, nil
}

// renew extends a dynamic credential's lease. It reports false when the
// lease cannot be renewed or the max TTL leaves less than half of it: then
// new credentials are due.
func (s *Supervisor) renew(ctx context.Context, svc *Service, l lease, now time.Time) (bool, lease) {
	if l.id == "" {
		return false, l
	}
	sec, err := s.client.Sys().RenewWithContext(ctx, l.id, int(l.ttl/time.Second))
	if err != nil || sec == nil {
		s.log.Warn("lease renewal failed", "service", svc.Name, "path", l.path, "error", err)
		return false, l
	}
	ttl := time.Duration(sec.LeaseDuration) * time.Second
	if ttl < l.ttl/2 {
		s.log.Info("lease near its max TTL; new credentials", "service", svc.Name, "path", l.path)
		return false, l
	}
	s.log.Debug("lease renewed", "service", svc.Name, "path", l.path, "ttl", ttl.String())
	return true, newLease(l.path, l.id, l.ttl, now)
}

func (s *snapshot) leaseFor(path string) *lease {
	if s == nil {
		return nil
	}
	for i := range s.leases {
		if s.leases[i].path == path {
			return &s.leases[i]
		}
	}
	return nil
}

// kvVersion is the version a KV v2 read answered with (0 otherwise).
func kvVersion(s *api.Secret, kv2 bool) int {
	if !kv2 || s == nil {
		return 0
	}
	md, _ := s.Data["metadata"].(map[string]any)
	switch v := md["version"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	case float64:
		return int(v)
	}
	return 0
}

// apply writes snap's files and (re)starts st with it. Called with st.mu
// held.
func (s *Supervisor) apply(ctx context.Context, st *service, snap *snapshot, restart bool) error {
	svc := st.svc
	if c := svc.Certs; c != nil && snap.certs != nil {
		if err := writeAtomic(c.CertFile, []byte(snap.certs.cert), 0o644); err != nil {
			return fmt.Errorf("vault_certs: writing the certificate: %w", err)
		}
		if err := writeAtomic(c.KeyFile, []byte(snap.certs.key), 0o600); err != nil {
			return fmt.Errorf("vault_certs: writing the key: %w", err)
		}
		if snap.certs.ca != "" {
			if err := writeAtomic(c.CAFile, []byte(snap.certs.ca), 0o644); err != nil {
				return fmt.Errorf("vault_certs: writing the CA: %w", err)
			}
		}
	}
	names := make([]string, 0, len(snap.vars))
	for k := range snap.vars {
		names = append(names, k)
	}
	sort.Strings(names)
	env := append([]string(nil), s.base...)
	for _, k := range names {
		env = append(env, k+"="+snap.vars[k])
	}
	if svc.EnvFile != "" {
		if err := writeAtomic(svc.EnvFile, []byte(envFileText(names, snap.vars)), 0o600); err != nil {
			return fmt.Errorf("env_file: %w", err)
		}
	}
	st.snap, st.env = snap, env
	switch {
	case len(svc.RestartCommand) > 0 && (restart || st.child == nil):
		if err := s.runCommand(ctx, svc.RestartCommand, env, 0); err != nil {
			return fmt.Errorf("restart_command: %w", err)
		}
		st.starts++
		if st.child == nil {
			st.state = StateApplied
			return nil
		}
	case st.child != nil:
		var err error
		if restart {
			err = st.child.Restart(env)
		} else {
			err = st.child.Start(env)
		}
		if err != nil {
			return fmt.Errorf("starting %s: %w", svc.Command[0], err)
		}
		st.starts++
	default:
		st.state = StateApplied
		return nil
	}
	st.state = StateRunning
	return nil
}

// envFileText writes KEY=VALUE lines as docker compose's --env-file reads
// them, double-quoting values that need it.
func envFileText(names []string, vars map[string]string) string {
	var b strings.Builder
	for _, k := range names {
		v := vars[k]
		if strings.ContainsAny(v, "\n\r\"'\\#$ \t") {
			r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "$", "$$")
			v = `"` + r.Replace(v) + `"`
		}
		b.WriteString(k + "=" + v + "\n")
	}
	return b.String()
}

// runCommand runs argv with env and waits for it, bounded by timeout
// when > 0.
func (s *Supervisor) runCommand(ctx context.Context, argv, env []string, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.opts.Stderr, s.opts.Stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s: no answer within %v", argv[0], timeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	return nil
}

// check reads the secrets of every service due, then restarts those whose
// values changed, one at a time, in registry order, each gated by its
// health_command.
func (s *Supervisor) check(ctx context.Context) {
	now := time.Now()
	cache := map[Dependency]*api.Secret{}
	type change struct {
		st   *service
		snap *snapshot
	}
	var changes []change
	var checked []*service
	for _, st := range s.services {
		st.mu.Lock()
		due := !st.nextCheck.IsZero() && !now.Before(st.nextCheck)
		failed := st.state == StateFailed
		prev := st.snap
		st.mu.Unlock()
		if !due {
			continue
		}
		checked = append(checked, st)
		switch {
		case failed:
			s.start(ctx, st)
			continue
		case !st.svc.AutoRotate:
			s.renewLeases(ctx, st)
			continue
		}
		snap, err := s.read(ctx, st.svc, cache, prev)
		st.mu.Lock()
		if err != nil {
			st.lastError = err.Error()
			st.mu.Unlock()
			s.log.Warn("rotation check failed; the service keeps its values", "service", st.svc.Name, "error", err)
			continue
		}
		fp := snap.fingerprint()
		changed := prev == nil || fp != prev.fingerprint()
		if changed && st.rejected != nil && *st.rejected == fp {
			changed = false // the values its health check refused: wait for new ones
		}
		if !changed {
			// Same values: remember the versions and leases read.
			if prev != nil && fp == prev.fingerprint() {
				st.snap = snap
			}
			st.mu.Unlock()
			continue
		}
		st.mu.Unlock()
		changes = append(changes, change{st, snap})
	}
	for _, c := range changes {
		if ctx.Err() != nil {
			return
		}
		s.rotate(ctx, c.st, c.snap)
		s.writeStatus()
	}
	now = time.Now()
	for _, st := range checked {
		st.mu.Lock()
		st.nextCheck = s.nextCheck(st, now)
		st.mu.Unlock()
	}
	s.writeStatus()
}

// renewLeases renews the dynamic credentials of a service without
// auto_rotate; the service keeps its values whatever happens.
func (s *Supervisor) renewLeases(ctx context.Context, st *service) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.snap == nil {
		return
	}
	now := time.Now()
	var kept []lease
	for _, l := range st.snap.leases {
		if now.Before(l.expires) {
			kept = append(kept, l)
		} else if ok, renewed := s.renew(ctx, st.svc, l, now); ok {
			kept = append(kept, renewed)
		}
	}
	st.snap.leases = kept
}

// rotate restarts st with snap and checks its health; a failed check
// restarts it with its previous values.
func (s *Supervisor) rotate(ctx context.Context, st *service, snap *snapshot) {
	st.mu.Lock()
	defer st.mu.Unlock()
	prev := st.snap
	name := st.svc.Name
	for _, p := range st.svc.Paths() {
		old, nw := prev.versions[p], snap.versions[p]
		if old != nw || pathChanged(st.svc, p, prev, snap) {
			s.log.Info("rotation", "service", name, "path", p, "old_version", old, "new_version", nw)
		}
	}
	st.lastRotation = time.Now()
	if err := s.apply(ctx, st, snap, true); err != nil {
		s.log.Error("rotation failed; restoring the previous values", "service", name, "error", err)
		s.rollback(ctx, st, prev, snap, err)
		return
	}
	if len(st.svc.HealthCommand) > 0 {
		if err := s.healthy(ctx, st.svc.HealthCommand, st.env); err != nil {
			s.log.Error("health check failed after rotation; restoring the previous values", "service", name, "error", err)
			s.rollback(ctx, st, prev, snap, err)
			return
		}
	}
	st.rotation, st.rejected, st.lastError = "ok", nil, ""
	s.log.Info("rotation done", "service", name)
}

// healthy runs argv every HealthInterval until it exits 0; it fails when
// HealthTimeout passes first.
func (s *Supervisor) healthy(ctx context.Context, argv, env []string) error {
	deadline := time.Now().Add(s.opts.HealthTimeout)
	for n := 1; ; n++ {
		left := time.Until(deadline)
		err := s.runCommand(ctx, argv, env, left)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Until(deadline) < s.opts.HealthInterval {
			return fmt.Errorf("not healthy within %v (%d attempts): %w", s.opts.HealthTimeout, n, err)
		}
		if !sleep(ctx, s.opts.HealthInterval) {
			return ctx.Err()
		}
	}
}

func (s *Supervisor) rollback(ctx context.Context, st *service, prev, rejected *snapshot, cause error) {
	fp := rejected.fingerprint()
	st.rejected = &fp
	st.rotation = "failed (rolled back): " + cause.Error()
	if err := s.apply(ctx, st, prev, true); err != nil {
		st.state, st.lastError = StateFailed, "rollback: "+err.Error()
		s.log.Error("rollback failed", "service", st.svc.Name, "error", err)
	}
}

// pathChanged reports whether a value read from p differs (for paths
// without versions).
func pathChanged(svc *Service, p string, a, b *snapshot) bool {
	for _, v := range svc.Vars {
		if v.Path == p && a.vars[v.Name] != b.vars[v.Name] {
			return true
		}
	}
	for _, d := range svc.Dynamic {
		if d.Path() == p && a.vars[d.EnvPrefix+"_USERNAME"] != b.vars[d.EnvPrefix+"_USERNAME"] {
			return true
		}
	}
	if svc.Certs != nil && svc.Certs.Path == p && a.certs != nil && b.certs != nil && *a.certs != *b.certs {
		return true
	}
	return false
}

// Status is what the status file holds.
type Status struct {
	Machine  string          `json:"machine"`
	Registry string          `json:"registry"`
	PID      int             `json:"pid"`
	Updated  time.Time       `json:"updated"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service's line of the status.
type ServiceStatus struct {
	Name         string         `json:"name"`
	Machine      string         `json:"machine"`
	State        string         `json:"state"`
	Starts       int            `json:"starts"`
	Paths        map[string]int `json:"paths"` // path → KV version (0: not versioned or not read)
	AutoRotate   bool           `json:"auto_rotate"`
	LastRotation *time.Time     `json:"last_rotation,omitempty"`
	Rotation     string         `json:"rotation,omitempty"`
	Error        string         `json:"error,omitempty"`
}

// Status returns the current status.
func (s *Supervisor) status() Status {
	out := Status{Machine: s.opts.Machine, Registry: s.opts.Registry.File, PID: os.Getpid(), Updated: time.Now().UTC()}
	for _, st := range s.services {
		st.mu.Lock()
		ss := ServiceStatus{
			Name: st.svc.Name, Machine: st.svc.Machine, State: st.state, Starts: st.starts,
			Paths: map[string]int{}, AutoRotate: st.svc.AutoRotate, Rotation: st.rotation, Error: st.lastError,
		}
		for _, p := range st.svc.Paths() {
			ss.Paths[p] = 0
			if st.snap != nil {
				ss.Paths[p] = st.snap.versions[p]
			}
		}
		if !st.lastRotation.IsZero() {
			t := st.lastRotation.UTC()
			ss.LastRotation = &t
		}
		st.mu.Unlock()
		out.Services = append(out.Services, ss)
	}
	return out
}

func (s *Supervisor) writeStatus() {
	if s.opts.StatusFile == "" {
		return
	}
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	b, err := json.MarshalIndent(s.status(), "", "  ")
	if err == nil {
		err = writeAtomic(s.opts.StatusFile, append(b, '\n'), 0o600)
	}
	if err != nil {
		s.log.Warn("writing the status file", "path", s.opts.StatusFile, "error", err)
	}
}

// ReadStatus reads a status file written by Supervise.
func ReadStatus(path string) (*Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// FormatStatus writes st as a table, one service a line.
func FormatStatus(w io.Writer, st *Status) {
	fmt.Fprintf(w, "Machine %s (registry %s, pid %d, updated %s)\n", st.Machine, st.Registry, st.PID, st.Updated.Format(time.RFC3339))
	for _, s := range st.Services {
		last := "never"
		if s.LastRotation != nil {
			last = s.LastRotation.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "\n%s\n  machine        %s\n  state          %s (started %d times)\n  last rotation  %s", s.Name, s.Machine, s.State, s.Starts, last)
		if s.Rotation != "" {
			fmt.Fprintf(w, " — %s", s.Rotation)
		}
		fmt.Fprintln(w)
		if !s.AutoRotate {
			fmt.Fprintln(w, "  auto_rotate    off")
		}
		paths := make([]string, 0, len(s.Paths))
		for p := range s.Paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			v := "-"
			if s.Paths[p] > 0 {
				v = "v" + strconv.Itoa(s.Paths[p])
			}
			fmt.Fprintf(w, "  path           %s %s\n", p, v)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  error          %s\n", s.Error)
		}
	}
}

// DefaultStatusFile is where the agent of machine writes its status unless
// told otherwise: beside the registry.
func DefaultStatusFile(registry, machine string) string {
	dir, base := filepath.Split(registry)
	return filepath.Join(dir, "."+base+"."+machine+".status.json")
}
