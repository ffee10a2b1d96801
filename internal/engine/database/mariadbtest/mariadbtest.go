// Package mariadbtest starts a throwaway MariaDB server for tests, from
// Debian's mariadb-server binaries (mariadb-install-db, mariadbd), in a
// temporary directory on a free loopback port. Tests skip with a message
// where the binaries are missing, unless TRESOR_REQUIRE names "mariadb".
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // driver

	"github.com/tresorhq/tresor/internal/testenv"
)

// Server is a throwaway MariaDB server for one test.
type Server struct {
	// Admin is the user (with every privilege, from any host) and
	// Password its password; Addr is "127.0.0.1:port".
	Admin, Password, Addr string
	// Socket is the unix socket root can use without a password.
	Socket string

	dir, bin string
	cmd      *exec.Cmd
}

func lookPath(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			if p := filepath.Join(d, n); fileExists(p) {
				return p
			}
		}
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start starts a server that stops when t ends, with an admin user
// "tresor"@"%" and password.
func Start(t testing.TB) *Server {
	t.Helper()
	install, server := lookPath("mariadb-install-db", "mysql_install_db"), lookPath("mariadbd", "mysqld")
	if install == "" || server == "" {
		testenv.Missing(t, "mariadb", "MariaDB binaries (mariadb-install-db, mariadbd) not found (apt-get install mariadb-server)")
	}
	dir, err := os.MkdirTemp("/tmp", "tresor-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	s := &Server{Admin: "tresor", Password: "admin-Pw-1", dir: dir, bin: server, Socket: filepath.Join(dir, "sock")}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.start(t)
	t.Cleanup(func() { s.Stop(t) })

	root, err := sql.Open("mysql", "root@unix("+s.Socket+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER 'tresor'@'%' IDENTIFIED BY '" + s.Password + "'",
		"GRANT ALL PRIVILEGES ON *.* TO 'tresor'@'%' WITH GRANT OPTION",
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, name TEXT)",
		"INSERT INTO app.items VALUES (1, 'one')",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("mariadb setup %q: %v", q, err)
		}
	}
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(s.dir, "data"), "--port=" + port,
		"--bind-address=127.0.0.1", "--socket=" + s.Socket, "--pid-file=" + filepath.Join(s.dir, "pid"),
		"--log-error=" + filepath.Join(s.dir, "err.log"), "--skip-log-bin", "--innodb-buffer-pool-size=16M",
		"--skip-name-resolve", "--max-connections=300"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("mariadbd: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, _ := sql.Open("mysql", "root@unix("+s.Socket+")/")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		db.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "err.log"))
			t.Fatalf("mariadbd did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server; Restart starts it again with the same data.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts a stopped server again.
func (s *Server) Restart(t testing.TB) { t.Helper(); s.start(t) }

// DSN is a go-sql-driver DSN for user and password over TCP.
func (s *Server) DSN(user, password, db string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", user, password, s.Addr, db)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
