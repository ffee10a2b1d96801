package agent

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// This file is *whom* to restart: a Child runs the service, forwards
// signals to it, stops it with a signal and a grace period, and reports
// when it exits on its own.

// Child supervises one command. Its zero value is not usable; fill in
// Command and call Start.
type Child struct {
	Command []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// StopSignal asks the child to stop (default SIGTERM); after Grace
	// (default 5s) it is killed.
	StopSignal os.Signal
	Grace      time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	stopped bool          // cmd is being stopped by us
	exits   chan int
}

// Exited delivers the exit status of a child that ended by itself (not
// through Stop or Restart).
func (c *Child) Exited() <-chan int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exits == nil {
		c.exits = make(chan int, 1)
	}
	return c.exits
}

// Start runs the command with env as its whole environment.
func (c *Child) Start(env []string) error {
	if len(c.Command) == 0 {
		return errors.New("no command to run")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exits == nil {
		c.exits = make(chan int, 1)
	}
	if c.cmd != nil {
		return errors.New("child already running")
	}
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	c.cmd, c.done, c.stopped = cmd, done, false
	go func() {
		err := cmd.Wait()
		code := exitCode(err)
		c.mu.Lock()
		mine := c.cmd == cmd
		if mine {
			c.cmd = nil
		}
		ours := c.stopped
		c.mu.Unlock()
		close(done)
		if mine && !ours {
			c.exits <- code
		}
	}()
	return nil
}

// exitCode maps a Wait error to a shell-style status (128+N for signal N).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

// Signal forwards sig to the running child, if any.
func (c *Child) Signal(sig os.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(sig)
	}
}

// Stop stops the running child: StopSignal, then SIGKILL after Grace. It
// returns when the child is gone.
func (c *Child) Stop() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	if cmd == nil {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	sig := c.StopSignal
	if sig == nil {
		sig = syscall.SIGTERM
	}
	grace := c.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	_ = cmd.Process.Signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the child and starts it again with env.
func (c *Child) Restart(env []string) error {
	c.Stop()
	return c.Start(env)
}

// ParseSignal maps "SIGTERM", "TERM" or "sigint" to a signal.
func ParseSignal(name string) (os.Signal, error) {
	n := name
	if len(n) > 3 && (n[:3] == "SIG" || n[:3] == "sig") {
		n = n[3:]
	}
	switch upper(n) {
	case "TERM":
		return syscall.SIGTERM, nil
	case "INT":
		return syscall.SIGINT, nil
	case "HUP":
		return syscall.SIGHUP, nil
	case "QUIT":
		return syscall.SIGQUIT, nil
	case "KILL":
		return syscall.SIGKILL, nil
	case "USR1":
		return syscall.SIGUSR1, nil
	case "USR2":
		return syscall.SIGUSR2, nil
	}
	return nil, errors.New("unknown signal " + name)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
