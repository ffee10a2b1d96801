package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tokenFileName is the file vault's default token helper keeps the token
// in, under the home directory; sharing it keeps "vault login" and
// "tresor login" interchangeable.
const tokenFileName = ".vault-token"

// tokenFile stores the token of the last login, readable by its owner only.
type tokenFile struct {
	path string // empty: no home directory, nothing stored
}

func (c *command) tokenFile() tokenFile {
	if c.s.env.HomeDir == "" {
		return tokenFile{}
	}
	return tokenFile{path: filepath.Join(c.s.env.HomeDir, tokenFileName)}
}

// get returns the stored token, or "" if none is stored.
func (f tokenFile) get() (string, error) {
	if f.path == "" {
		return "", nil
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// store replaces the stored token. It writes a temporary file and renames
// it, so a reader never sees half a token and the mode is 0600 from the
// start.
func (f tokenFile) store(token string) error {
	if f.path == "" {
		return errors.New("no home directory to store the token in")
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), tokenFileName+".tmp*")
	if err != nil {
		return fmt.Errorf("storing token: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("storing token: %w", err)
	}
	if _, err := tmp.WriteString(token); err != nil {
		tmp.Close()
		return fmt.Errorf("storing token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("storing token: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("storing token: %w", err)
	}
	return nil
}
