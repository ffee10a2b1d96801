package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// defaultRotateMaxFiles is how many rotated files are kept when
// rotate_max_bytes is set without rotate_max_files.
const defaultRotateMaxFiles = 5

// fileSink appends lines to a file, or to stdout, or nowhere.
type fileSink struct {
	path     string // "" for stdout and discard
	stdout   bool
	mode     os.FileMode // 0: leave the mode alone
	maxBytes int64       // 0: never rotate
	maxFiles int

	// mu guards the file: held while writing, rotating, reopening.
	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool

	// Concurrent entries are written in groups: while one caller (the
	// leader) writes, others queue their lines in cur, and the leader then
	// writes them all with one write call. Nobody returns before the group
	// holding its entry is written.
	qmu     sync.Mutex
	cur     *group
	leading bool
}

// group is a batch of lines written together.
type group struct {
	buf  []byte
	err  error
	done chan struct{}
}

func newFileSink(o *options, forbiddenDirs []string) (*fileSink, error) {
	path := o.string("file_path", o.string("path", "")) // "path" is Vault's legacy name
	if path == "" {
		return nil, fmt.Errorf("%w: file: file_path is required", ErrInvalidOptions)
	}
	s := &fileSink{}
	modeText := o.string("mode", "0600")
	mode, err := strconv.ParseUint(modeText, 8, 32)
	if err != nil || mode > 0o777 {
		return nil, fmt.Errorf("%w: file: mode %q is not an octal permission such as 0600", ErrInvalidOptions, modeText)
	}
	if mode&0o002 != 0 {
		return nil, fmt.Errorf("%w: file: mode %q would make the audit log world-writable", ErrInvalidOptions, modeText)
	}
	s.mode = os.FileMode(mode)
	if s.maxBytes, err = o.int("rotate_max_bytes", 0); err != nil {
		return nil, err
	}
	maxFiles, err := o.int("rotate_max_files", defaultRotateMaxFiles)
	if err != nil {
		return nil, err
	}
	if maxFiles < 1 && s.maxBytes > 0 {
		return nil, fmt.Errorf("%w: file: rotate_max_files must be at least 1", ErrInvalidOptions)
	}
	s.maxFiles = int(maxFiles)

	switch path {
	case "stdout":
		s.stdout = true
		return s, nil
	case "discard":
		return s, nil
	}
	if err := checkPath(path, forbiddenDirs); err != nil {
		return nil, err
	}
	s.path = path
	return s, nil
}

// checkPath refuses paths that climb with ".." and paths inside a
// forbidden directory, also after resolving symbolic links.
func checkPath(path string, forbiddenDirs []string) error {
	for _, elem := range strings.Split(filepath.ToSlash(path), "/") {
		if elem == ".." {
			return fmt.Errorf("%w: file: file_path %q must not contain \"..\"", ErrInvalidOptions, path)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%w: file: file_path %q: %v", ErrInvalidOptions, path, err)
	}
	candidates := []string{abs, resolve(abs)}
	for _, dir := range forbiddenDirs {
		if dir == "" {
			continue
		}
		d, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("audit: forbidden directory %q: %w", dir, err)
		}
		for _, fd := range []string{d, resolve(d)} {
			for _, p := range candidates {
				if within(p, fd) {
					return fmt.Errorf("%w: file: file_path %q lies inside the server's data directory", ErrInvalidOptions, path)
				}
			}
		}
	}
	return nil
}

// resolve follows symbolic links in the longest existing prefix of p.
func resolve(p string) string {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// write appends line, returning once it is written (or failed to be).
// A caller that finds nobody writing writes its own line at once, with no
// copy; the lines that arrive meanwhile queue in a group, which it then
// writes too before it returns.
func (s *fileSink) write(line []byte) error {
	s.qmu.Lock()
	if s.leading {
		if s.cur == nil {
			s.cur = &group{done: make(chan struct{})}
		}
		mine := s.cur
		mine.buf = append(mine.buf, line...)
		s.qmu.Unlock()
		<-mine.done
		return mine.err
	}
	s.leading = true
	s.qmu.Unlock()
	err := s.flush(line)
	s.qmu.Lock()
	for s.cur != nil {
		g := s.cur
		s.cur = nil
		s.qmu.Unlock()
		g.err = s.flush(g.buf)
		close(g.done)
		s.qmu.Lock()
	}
	s.leading = false
	s.qmu.Unlock()
	return err
}

// flush writes one group of lines with a single write call.
func (s *fileSink) flush(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch {
	case s.stdout:
		_, err := os.Stdout.Write(line)
		return err
	case s.path == "":
		return nil // discard
	}
	if s.f == nil {
		// A failed reopen left nothing open; the file may be back.
		if err := s.open(); err != nil {
			return err
		}
	}
	if s.maxBytes > 0 && s.size > 0 && s.size+int64(len(line)) > s.maxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// open opens the file for appending, creating it and its directory.
func (s *fileSink) open() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("create directory of %s: %w", s.path, err)
	}
	perm := s.mode
	if perm == 0 {
		perm = 0o600
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", s.path, err)
	}
	// An existing file keeps its mode on open; enforce the configured one.
	if s.mode != 0 && fi.Mode().Perm() != s.mode {
		if err := f.Chmod(s.mode); err != nil {
			f.Close()
			return fmt.Errorf("chmod %s: %w", s.path, err)
		}
	}
	s.f, s.size = f, fi.Size()
	return nil
}

// rotate shifts file.N-1 → file.N ... file → file.1, dropping what falls
// beyond maxFiles, and opens a fresh file.
func (s *fileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		s.f = nil
		return fmt.Errorf("close %s for rotation: %w", s.path, err)
	}
	s.f = nil
	name := func(i int) string { return s.path + "." + strconv.Itoa(i) }
	if err := os.Remove(name(s.maxFiles)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate %s: %w", s.path, err)
	}
	for i := s.maxFiles - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", s.path, err)
		}
	}
	if err := os.Rename(s.path, name(1)); err != nil {
		return fmt.Errorf("rotate %s: %w", s.path, err)
	}
	return s.open()
}

func (s *fileSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.path == "" {
		return nil
	}
	var closeErr error
	if s.f != nil {
		closeErr = s.f.Close()
		s.f = nil
	}
	if err := s.open(); err != nil {
		return err
	}
	if closeErr != nil {
		return fmt.Errorf("close %s: %w", s.path, closeErr)
	}
	return nil
}

func (s *fileSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}
