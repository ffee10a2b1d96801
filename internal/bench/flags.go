package bench

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
)

// config is the parsed command line.
type config struct {
	address, token   string
	workload         string
	concurrency      int
	duration, warmup time.Duration
	rate             float64
	format           string
	keys, valueSize  int
	mountPrefix      string
	compareHealth    bool
	caCert           string
	tlsSkipVerify    bool
}

// mountPrefixRE keeps the throwaway name a single, harmless path segment.
var mountPrefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// envOr returns the first non-empty of TRESOR_<name> and VAULT_<name>.
func envOr(getenv func(string) string, name string) string {
	if v := getenv("TRESOR_" + name); v != "" {
		return v
	}
	return getenv("VAULT_" + name)
}

// parseFlags parses args. It reports errors on stderr itself, as the flag
// package does, and returns them (or flag.ErrHelp) for the exit code.
func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (*config, error) {
	c := &config{}
	addr := envOr(getenv, "ADDR")
	if addr == "" {
		addr = "https://127.0.0.1:8200"
	}
	skip, _ := strconv.ParseBool(envOr(getenv, "SKIP_VERIFY"))

	fs := flag.NewFlagSet("tresor bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.address, "address", addr, "server address (env TRESOR_ADDR, VAULT_ADDR)")
	fs.StringVar(&c.token, "token", envOr(getenv, "TOKEN"), "token allowed to mount engines and auth methods (env TRESOR_TOKEN, VAULT_TOKEN)")
	fs.StringVar(&c.workload, "workload", "kv-read", workloadNames())
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent workers (connections)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "measured time per workload")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load before measuring")
	fs.Float64Var(&c.rate, "rate", 0, "open loop: requests per second on a fixed schedule (0: closed loop)")
	fs.StringVar(&c.format, "format", "table", "report format: table or json")
	fs.IntVar(&c.keys, "keys", 1000, "KV secrets preloaded and used")
	fs.IntVar(&c.valueSize, "value-size", 256, "bytes per KV secret value")
	fs.StringVar(&c.mountPrefix, "mount-prefix", "bench-", "throwaway mount names are this plus random hex")
	fs.BoolVar(&c.compareHealth, "compare-health", false, "also measure sys/health and print rates as a ratio to it")
	fs.StringVar(&c.caCert, "ca-cert", envOr(getenv, "CACERT"), "PEM CA bundle to verify the server (env TRESOR_CACERT, VAULT_CACERT)")
	fs.BoolVar(&c.tlsSkipVerify, "tls-skip-verify", skip, "do not verify the server certificate (env TRESOR_SKIP_VERIFY, VAULT_SKIP_VERIFY)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := c.validate(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "tresor bench: %v\n", err)
		return nil, err
	}
	return c, nil
}

// validate checks values the flag package cannot.
func (c *config) validate(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected arguments %q", rest)
	case workloads[c.workload] == nil:
		return fmt.Errorf("unknown workload %q (want %s)", c.workload, workloadNames())
	case c.concurrency < 1:
		return fmt.Errorf("-concurrency must be at least 1")
	case c.duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case c.warmup < 0:
		return fmt.Errorf("-warmup must not be negative")
	case c.rate < 0:
		return fmt.Errorf("-rate must not be negative")
	case c.format != "table" && c.format != "json":
		return fmt.Errorf("-format must be table or json, not %q", c.format)
	case c.keys < 1:
		return fmt.Errorf("-keys must be at least 1")
	case c.valueSize < 1:
		return fmt.Errorf("-value-size must be at least 1")
	case !mountPrefixRE.MatchString(c.mountPrefix):
		return fmt.Errorf("-mount-prefix %q: want letters, digits, '.', '_' or '-'", c.mountPrefix)
	case c.address == "":
		return fmt.Errorf("no server address: set -address or VAULT_ADDR")
	case c.token == "" && c.workload != "health":
		return fmt.Errorf("workload %s needs a token: set -token or VAULT_TOKEN", c.workload)
	}
	return nil
}
