package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// localDevFiles are where a persistent dev server keeps its unseal key and
// root token: ~/.config/tresor/dev-<hash of the data directory>/, so that
// two data directories never share keys.
type localDevFiles struct {
	dir, key, token string
}

func localDevPaths(dataDir string) (localDevFiles, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return localDevFiles{}, err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return localDevFiles{}, fmt.Errorf("find the home directory for the dev keys: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	dir := filepath.Join(home, ".config", "tresor", "dev-"+hex.EncodeToString(sum[:6]))
	return localDevFiles{dir: dir, key: filepath.Join(dir, "unseal-key"), token: filepath.Join(dir, "root-token")}, nil
}

// startLocalDev starts a dev server whose data persists in dataDir (bolt):
// on the first start it initialises the server as -dev does and writes the
// unseal key and root token under ~/.config/tresor (directory 0700, files
// 0600); on later starts it unseals itself from there and keeps the same
// root token.
func (s *Server) startLocalDev(ctx context.Context, w io.Writer, dataDir, rootTokenID string, storeToken bool) error {
	files, err := localDevPaths(dataDir)
	if err != nil {
		return err
	}
	initialized, err := s.Core.Initialized(ctx)
	if err != nil {
		return err
	}
	var root string
	if !initialized {
		key, token, err := s.InitDev(ctx, rootTokenID)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(files.dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", files.dir, err)
		}
		if err := os.Chmod(files.dir, 0o700); err != nil {
			return err
		}
		if err := writeSecretFile(files.key, base64.StdEncoding.EncodeToString(key)); err != nil {
			return err
		}
		if err := writeSecretFile(files.token, token); err != nil {
			return err
		}
		root = token
	} else {
		rawKey, err := os.ReadFile(files.key)
		if err != nil {
			return fmt.Errorf("this data directory was initialised, but its unseal key is not in %s: %w", files.key, err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(rawKey)))
		if err != nil {
			return fmt.Errorf("read %s: %w", files.key, err)
		}
		if ok, err := s.Core.Unseal(ctx, key); err != nil || !ok {
			return fmt.Errorf("unseal with %s: %v", files.key, errors.Join(err, errors.New("still sealed")))
		}
		rawToken, err := os.ReadFile(files.token)
		if err != nil {
			return fmt.Errorf("read %s: %w", files.token, err)
		}
		root = strings.TrimSpace(string(rawToken))
	}
	stored := "is kept in " + files.token
	if storeToken && storeCLIToken(root) {
		stored += " and ~/.vault-token"
	}
	fmt.Fprintf(w, `WARNING! persistent dev mode is enabled! The data lives in %s and the
server unseals itself at every start with the key in %s; the root token %s.
This is for development only: whoever reads those files owns every secret.

    $ export VAULT_ADDR='http://%s'

`, dataDir, files.key, stored, s.Addrs()[0].String())
	return nil
}

// writeSecretFile writes text to path with mode 0600, replacing any file.
func writeSecretFile(path, text string) error {
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
