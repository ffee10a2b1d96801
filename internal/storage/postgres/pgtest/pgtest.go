// Package pgtest starts a throwaway PostgreSQL server for tests, from
// Debian's binaries (/usr/lib/postgresql/*/bin). PostgreSQL refuses to run
// as root, so as root it runs the server as the postgres user. Tests skip
// with a message where the binaries are missing, or fail when TRESOR_REQUIRE
// names "postgres" (see internal/testenv).
package pgtest

import (
	"fmt"
	"net"
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
	// URL is a trust-auth superuser URL for the "postgres" database.
	URL string // trust-auth superuser URL for the "postgres" database
}

// startServer initialises and starts a cluster on a free loopback port
// with the Debian binaries in /usr/lib/postgresql/*/bin, and stops it when
// t ends. PostgreSQL refuses to run as root, so as root every command runs
// as the postgres user in a temporary directory that user owns. fsync is off:
// these tests check behaviour, not crash safety.
// Start starts a server that stops when t ends.
func Start(t testing.TB) *Server {
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
	run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	port := freePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", port, dir)
	run("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts)
	t.Cleanup(func() {
		argv := append(slices.Clone(prefix), filepath.Join(bin, "pg_ctl"), "stop", "-m", "immediate", "-D", data)
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return &Server{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
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
