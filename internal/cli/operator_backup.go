package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func newOperatorBackupCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "operator backup",
		synopsis: "Saves a backup of the server's storage to a file",
		usage: `
Usage: tresor operator backup [options] FILE

  Saves a consistent copy of every entry in the server's storage (bolt or
  PostgreSQL), still encrypted, to FILE (mode 0600). The copy is taken
  online. Restore it with "tresor operator restore"; the restored server
  unseals with the unseal keys of the server the backup came from.

  Requires a token with sudo capability on sys/storage/backup.

      $ tresor operator backup tresor.backup
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 1, 1)
			if client == nil {
				return code
			}
			r := client.NewRequest("GET", "/v1/sys/storage/backup")
			//nolint:staticcheck // RawRequest is the client's way to a non-JSON body.
			resp, err := client.RawRequestWithContext(c.s.ctx, r)
			if resp != nil {
				defer resp.Body.Close()
			}
			if err != nil {
				return c.apiFailed(err, "Error taking the backup")
			}
			var n int64
			err = writeFileAtomic(args[0], func(w io.Writer) (err error) {
				n, err = io.Copy(w, resp.Body)
				return err
			})
			if err != nil {
				c.s.errorf("Error writing the backup: %s", err)
				return exitLocal
			}
			fmt.Fprintf(c.s.stdout, "Success! Saved a backup of %d bytes to %s\n", n, args[0])
			return exitOK
		},
	}
}

// writeFileAtomic has write fill a temporary file in path's directory,
// then syncs it and renames it to path, so path is either the whole file
// (a backup, a snapshot) or untouched. write's error is returned as is.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newOperatorRestoreCommand(s *session) *command {
	var force bool
	return &command{
		s:        s,
		name:     "operator restore",
		synopsis: "Replaces the server's data with a backup",
		usage: `
Usage: tresor operator restore [options] FILE

  Replaces all of the server's data with the backup in FILE, taken by
  "tresor operator backup", and seals the server. Unseal it afterwards with
  the unseal keys of the server the backup came from.

  The server checks the whole file first: a truncated or altered file is
  refused and the server keeps its data. Without -force it also refuses a
  backup whose entries do not decrypt under its own keys (a backup of
  another cluster); -force restores it anyway, as for disaster recovery on
  a fresh server.

  Requires a token with sudo capability on sys/storage/restore.

      $ tresor operator restore -force tresor.backup
`,
		flags: func(g *flagGroup) {
			g.boolVar(&force, "force", false,
				"Restore a backup of another cluster (its keys will unseal the server).")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 1, 1) {
				return exitLocal
			}
			f, err := os.Open(args[0])
			if err != nil {
				c.s.errorf("Error opening the backup: %s", err)
				return exitLocal
			}
			defer f.Close()
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			path := "/v1/sys/storage/restore"
			if force {
				path = "/v1/sys/storage/restore-force"
			}
			r := client.NewRequest("POST", path)
			r.Body = f
			//nolint:staticcheck // RawRequest is the client's way to a non-JSON body.
			resp, err := client.RawRequestWithContext(c.s.ctx, r)
			if resp != nil {
				defer resp.Body.Close()
			}
			if err != nil {
				return c.apiFailed(err, "Error restoring the backup")
			}
			fmt.Fprintln(c.s.stdout, "Success! Data restored; the server is sealed. "+
				"Unseal it with the unseal keys of the backup's cluster.")
			return exitOK
		},
	}
}
