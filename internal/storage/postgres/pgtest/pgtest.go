// Package pgtest starts a throwaway PostgreSQL server for tests, from
// Debian's binaries (/usr/lib/postgresql/*/bin). PostgreSQL refuses to run
// as root, so as root it runs the server as the postgres user. Tests skip
// with a message where the binaries are missing, or fail when TRESOR_REQUIRE
// names "postgres" (see internal/testenv).
package pgtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/tresorhq/tresor/internal/testenv"
)

// Server is a throwaway PostgreSQL cluster for one test.
type Server struct {
	// URL is a superuser URL for the "postgres" database (with the
	// password, if Options.Password set one).
	URL string
	// Port is the loopback TCP port it listens on.
	Port int

	// start and stop run pg_ctl on the cluster.
	start, stop func(t testing.TB)
}

// Options change the cluster StartWith makes.
type Options struct {
	// Password, when set, is the postgres superuser's password, and TCP
	// connections must give a password (scram-sha-256), so tests can check
	// that wrong or revoked passwords are refused. Unset: trust auth.
	Password string
}

// Stop stops the server (to test a database that is down); Restart starts
// it again on the same port with the same data.
func (s *Server) Stop(t testing.TB)    { t.Helper(); s.stop(t) }
func (s *Server) Restart(t testing.TB) { t.Helper(); s.start(t) }

// startServer initialises and starts a cluster on a free loopback port
// with the Debian binaries in /usr/lib/postgresql/*/bin, and stops it when
// t ends. PostgreSQL refuses to run as root, so as root every command runs
// as the postgres user in a temporary directory that user owns. fsync is off:
// these tests check behaviour, not crash safety.
// Start starts a trust-auth server that stops when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server with opts that stops when t ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		testenv.Missing(t, "postgres", "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	slices.SortFunc(bins, func(a, b string) int { return versionOf(a) - versionOf(b) })
	bin := filepath.Dir(bins[len(bins)-1])

	dir, err := os.MkdirTemp("/tmp", "tresor-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var prefix []string // how to run a command as a user PostgreSQL accepts
	chown := func(string) error { return nil }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
		chown = func(path string) error { return os.Chown(path, uid, gid) }
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(slices.Clone(prefix), filepath.Join(bin, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, log)
		}
	}

	data := filepath.Join(dir, "data")
	auth := []string{"-A", "trust"}
	userinfo := "postgres"
	if opts.Password != "" {
		pwfile := filepath.Join(dir, "pw")
		if err := os.WriteFile(pwfile, []byte(opts.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := chown(pwfile); err != nil {
			t.Fatal(err)
		}
		auth = []string{"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile}
		userinfo = url.UserPassword("postgres", opts.Password).String()
	}
	run("initdb", append([]string{"-D", data, "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"}, auth...)...)
	port := freePort(t)
	pgOpts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", port, dir)
	s := &Server{
		URL:  fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", userinfo, port),
		Port: port,
	}
	running := false
	s.start = func(t testing.TB) {
		t.Helper()
		run("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", pgOpts)
		running = true
	}
	s.stop = func(t testing.TB) {
		t.Helper()
		if !running {
			return
		}
		argv := append(slices.Clone(prefix), filepath.Join(bin, "pg_ctl"), "stop", "-m", "immediate", "-D", data)
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
		running = false
	}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// versionOf returns the major version in a /usr/lib/postgresql/N/bin path.
func versionOf(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(bin))))
	return n
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
