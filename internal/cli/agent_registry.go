package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tresorhq/tresor/internal/agent"
)

// This file holds "tresor agent -registry": the services of one machine
// of a Portoser registry, supervised and rotated, and its status.

type registryFlags struct {
	file, machine, statusFile string
	healthTimeout             time.Duration
}

func (r *registryFlags) flags(g *flagGroup) {
	g.stringVar(&r.file, "registry", "", "FILE", "A Portoser service registry (YAML) to run services from.")
	g.stringVar(&r.machine, "machine", "", "NAME", "With -registry: the machine whose services this agent runs.")
	g.stringVar(&r.statusFile, "status-file", "", "FILE",
		"With -registry: where the status is written (mode 0600). Default: .<registry>.<machine>.status.json beside the registry.")
	g.durationVar(&r.healthTimeout, "health-timeout", 30*time.Second,
		"With -registry: how long a health_command has to succeed after a restart.")
}

func runRegistry(c *command, r *registryFlags, args []string, log *slog.Logger) int {
	if len(args) > 0 && args[0] == "status" {
		if !c.wantArgs(args, 1, 1) {
			return exitLocal
		}
		return registryStatus(c, r)
	}
	if !c.wantArgs(args, 0, 0) {
		return exitLocal
	}
	if r.machine == "" {
		return c.usageError("Missing -machine=NAME: which machine's services to run.")
	}
	reg, err := agent.LoadRegistry(r.file)
	if err != nil {
		c.s.errorf("Error loading the registry:\n%s", err)
		return exitLocal
	}
	m := reg.Machines[r.machine]
	if m == nil {
		c.s.errorf("Error: %s: no machine %q under machines:", r.file, r.machine)
		return exitLocal
	}
	method, err := agent.MachineMethod(reg, m)
	if err != nil {
		c.s.errorf("Error: %s", err)
		return exitLocal
	}
	// The shared HTTP settings come from the environment only.
	if c.address = c.s.getenv("ADDR"); c.address == "" {
		c.address = defaultAddress
	}
	c.caCert, c.caPath = c.s.getenv("CACERT"), c.s.getenv("CAPATH")
	c.clientCert, c.clientKey = c.s.getenv("CLIENT_CERT"), c.s.getenv("CLIENT_KEY")
	c.skipVerify, _ = strconv.ParseBool(c.s.getenv("SKIP_VERIFY"))
	client, code := c.clientOrFail()
	if code != exitOK {
		return code
	}
	client.ClearToken() // the machine's AppRole logs in
	client.SetMaxRetries(2)
	statusFile := r.statusFile
	if statusFile == "" {
		statusFile = agent.DefaultStatusFile(r.file, r.machine)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	err = agent.Supervise(c.s.ctx, agent.SuperviseOptions{
		Registry: reg, Machine: r.machine, Client: client, Method: method,
		Environ: c.s.environ(), Stdout: c.s.stdout, Stderr: c.s.stderr, Logger: log,
		StatusFile: statusFile, HealthTimeout: r.healthTimeout, Signals: sigs,
	})
	if err != nil {
		c.s.errorf("Error: %s", err)
		return exitLocal
	}
	return exitOK
}

// registryStatus prints the status file of -machine, or of every machine
// whose agent wrote one beside the registry.
func registryStatus(c *command, r *registryFlags) int {
	var files []string
	switch {
	case r.statusFile != "":
		files = []string{r.statusFile}
	case r.machine != "":
		files = []string{agent.DefaultStatusFile(r.file, r.machine)}
	default:
		files, _ = filepath.Glob(agent.DefaultStatusFile(r.file, "*"))
	}
	if len(files) == 0 {
		c.s.errorf("No status file beside %s: is an agent running with -registry=%s -machine=NAME?", r.file, r.file)
		return exitLocal
	}
	code := exitOK
	for i, f := range files {
		st, err := agent.ReadStatus(f)
		if err != nil {
			c.s.errorf("Error reading the status: %s", err)
			code = exitLocal
			continue
		}
		if i > 0 {
			fmt.Fprintln(c.s.stdout)
		}
		agent.FormatStatus(c.s.stdout, st)
	}
	return code
}
