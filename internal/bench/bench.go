package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Exit codes.
const (
	exitOK          = 0
	exitUsage       = 1
	exitServer      = 2
	exitInterrupted = 130
)

// cleanupTimeout bounds teardown, which runs even after Ctrl-C.
const cleanupTimeout = 30 * time.Second

// Main runs "tresor bench" with args (after the command name) and returns
// the exit code. Cancelling ctx (Ctrl-C) stops the load, removes what setup
// created and prints the partial report.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg, err := parseFlags(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	tlsCfg, err := tlsConfig(cfg.caCert, cfg.tlsSkipVerify)
	if err != nil {
		fmt.Fprintf(stderr, "tresor bench: %v\n", err)
		return exitUsage
	}
	client, err := NewClient(cfg.address, cfg.token, tlsCfg, cfg.concurrency)
	if err != nil {
		fmt.Fprintf(stderr, "tresor bench: %v\n", err)
		return exitUsage
	}
	defer client.Close()

	rep := &Report{
		Address: cfg.address, Mode: "closed", Concurrency: cfg.concurrency, Rate: cfg.rate,
		Duration: cfg.duration.String(), Warmup: cfg.warmup.String(), Keys: cfg.keys, ValueSize: cfg.valueSize,
	}
	if cfg.rate > 0 {
		rep.Mode = "open"
	}
	b := &bencher{cfg: cfg, client: client, stdout: stdout, stderr: stderr, live: isTerminal(stdout)}

	code := exitOK
	phases := []phase{{cfg.workload, load{cfg.concurrency, cfg.duration, cfg.rate}}}
	if cfg.compareHealth && cfg.workload != "health" {
		// Closed loop even under -rate: the point is the server's ceiling.
		phases = append(phases, phase{"health", load{cfg.concurrency, cfg.duration, 0}})
	}
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		res, err := b.measure(ctx, p.workload, p.load)
		if res.Workload != "" {
			rep.Results = append(rep.Results, res)
		}
		if err != nil {
			fmt.Fprintf(stderr, "tresor bench: %v\n", err)
			code = exitServer
			break
		}
	}
	if cfg.compareHealth && code == exitOK && ctx.Err() == nil {
		health := rep.Results[len(rep.Results)-1]
		for i := range rep.Results {
			if health.RequestsPerSecond > 0 {
				rep.Results[i].RatioToHealth = rep.Results[i].RequestsPerSecond / health.RequestsPerSecond
			}
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		code = exitInterrupted
	}
	if len(rep.Results) == 0 {
		return code
	}
	write := writeTable
	if cfg.format == "json" {
		write = writeJSON
	}
	if err := write(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "tresor bench: %v\n", err)
		return exitUsage
	}
	return code
}

// phase is one workload under one load.
type phase struct {
	workload string
	load     load
}

// bencher runs workloads one after another.
type bencher struct {
	cfg            *config
	client         *Client
	stdout, stderr io.Writer
	live           bool // draw a progress line on stdout
}

// measure sets up the named workload, warms it up, measures it and tears
// it down. Teardown runs whatever happened, with its own deadline.
func (b *bencher) measure(ctx context.Context, name string, l load) (res Result, err error) {
	w := workloads[name]()
	env := &Env{
		Client: b.client, Name: throwawayName(b.cfg.mountPrefix),
		Keys: b.cfg.keys, ValueSize: b.cfg.valueSize, Concurrency: l.concurrency,
		TTL: 2*(b.cfg.warmup+l.duration) + 10*time.Minute,
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if terr := w.Teardown(cctx, env); terr != nil {
			err = errors.Join(err, fmt.Errorf("%s teardown (remove it by hand): %w", name, terr))
		}
	}()
	if err := w.Setup(ctx, env); err != nil {
		return Result{}, fmt.Errorf("%s setup: %w", name, err)
	}
	if b.cfg.warmup > 0 {
		run(ctx, w, load{l.concurrency, b.cfg.warmup, l.rate}, nil)
	}
	live := new(counters)
	var stop, done chan struct{}
	if b.live {
		stop, done = make(chan struct{}), make(chan struct{})
		go progress(b.stdout, name, l.duration, live, stop, done)
	}
	st := run(ctx, w, l, live)
	if b.live {
		close(stop)
		<-done
	}
	return result(name, st), nil
}

// throwawayName is prefix plus 8 random hex digits: unique per run, so that
// concurrent runs and leftovers of killed ones never collide.
func throwawayName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return prefix + hex.EncodeToString(b[:])
}
