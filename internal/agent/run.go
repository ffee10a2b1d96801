package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// RunOptions describe one "tresor run": a command started with its
// environment's references resolved.
type RunOptions struct {
	Env     []string // the environment, references included
	Command []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Watch re-reads the secrets (every Interval, and before leases
	// expire) and restarts the command when a value changed.
	Watch    bool
	Interval time.Duration
	// Mask conceals secret values in the command's output.
	Mask bool
	// Grace is how long a restarted child may take to stop.
	Grace time.Duration
	// Signals are forwarded to the child.
	Signals <-chan os.Signal
	Logger  *slog.Logger
	// Keeper, when set, keeps the client's token alive while watching.
	Keeper *Keeper
	// Started, when set, is called once the child has been started.
	Started func()
}

// RunError is a failure before the command started: nothing was run.
type RunError struct{ Err error }

func (e *RunError) Error() string { return e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

// Run resolves the references in opts.Env, starts the command and returns
// its exit status. Any failure to resolve is a *RunError and the command
// is not started.
func Run(ctx context.Context, client *api.Client, opts RunOptions) (int, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	refs, err := BindEnv(ctx, NewResolver(client), opts.Env)
	if err != nil {
		return 0, &RunError{err}
	}
	w := NewWatcher(client, WatcherOptions{Interval: opts.Interval, Logger: log, Retries: -1})
	if err := w.Fetch(ctx, refs.Deps()); err != nil {
		return 0, &RunError{refErrors(refs, w, err)}
	}
	env, values, err := refs.Render(w.Get)
	if err != nil {
		return 0, &RunError{err}
	}

	child := &Child{Command: opts.Command, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Grace: opts.Grace}
	var masks []*MaskWriter
	if opts.Mask {
		for _, out := range []*io.Writer{&child.Stdout, &child.Stderr} {
			m := &MaskWriter{W: *out}
			m.SetSecrets(values)
			*out, masks = m, append(masks, m)
		}
		defer func() {
			for _, m := range masks {
				_ = m.Flush()
			}
		}()
	}
	exited := child.Exited()
	if err := child.Start(env); err != nil {
		return 0, &RunError{fmt.Errorf("starting %s: %w", opts.Command[0], err)}
	}
	if opts.Started != nil {
		opts.Started()
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Watch {
		w.Watch(wctx, refs.Deps())
		if opts.Keeper != nil {
			go opts.Keeper.Run(wctx)
		}
	}
	for {
		select {
		case code := <-exited:
			return code, nil
		case sig := <-opts.Signals:
			child.Signal(sig)
		case <-ctx.Done():
			child.Stop()
			return 1, ctx.Err()
		case <-w.Changed():
			changed := w.TakeChanges()
			newEnv, newValues, err := refs.Render(w.Get)
			if err != nil {
				log.Error("secret changed but cannot be rendered; keeping the running command", "error", err)
				continue
			}
			if equalStrings(newEnv, env) {
				continue
			}
			env = newEnv
			log.Info("secret rotated; restarting the command", "references", strings.Join(refs.Rotated(changed), ", "))
			// The old values stay masked too: output may still mention them.
			for _, m := range masks {
				m.SetSecrets(append(append([]string(nil), values...), newValues...))
			}
			values = newValues
			if err := child.Restart(env); err != nil {
				return 1, fmt.Errorf("restarting %s: %w", opts.Command[0], err)
			}
		}
	}
}

// refErrors rewrites fetch errors (which name API paths) to name the
// references and variables bound to those paths.
func refErrors(refs *EnvRefs, w *Watcher, err error) error {
	var lines []string
	// Keys missing from the secrets that did arrive are worth saying too.
	if _, _, rerr := refs.Render(w.Get); rerr != nil {
		for _, e := range unjoin(rerr) {
			if !errors.Is(e, errNotFetched) {
				lines = append(lines, e.Error())
			}
		}
	}
	for _, e := range unjoin(err) {
		fe, ok := e.(*FetchError)
		if !ok {
			lines = append(lines, e.Error())
			continue
		}
		for i, b := range refs.bindings {
			if b.Dep == fe.Dep {
				k, _, _ := strings.Cut(refs.env[i], "=")
				lines = append(lines, fmt.Sprintf("%s: %s: %s", k, b.Ref, fe.Err))
			}
		}
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
