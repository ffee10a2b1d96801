package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source is what a Scheduler backs up and verifies with: the core.
type Source interface {
	// BackupStorage writes a backup of the whole store to w.
	BackupStorage(ctx context.Context, w io.Writer) (Info, error)
	// VerifyBackup checks a backup and every entry's authentication tag
	// under the current keyring.
	VerifyBackup(r io.Reader) (Info, error)
	// Sealed reports whether the server is sealed; no backup is taken
	// then, since none could be verified.
	Sealed() bool
}

// Schedule is the backup "local" stanza.
type Schedule struct {
	Dir      string
	Interval time.Duration
	Retain   int
}

// Status describes one backup file, as sys/backups lists it.
type Status struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
	Verified bool      `json:"verified"`
	Error    string    `json:"error,omitempty"`
}

const (
	filePrefix = "tresor-"
	fileSuffix = ".backup"
	// nameTime is the UTC time in a file name; names sort by time.
	nameTime = "20060102T150405.000000000Z"
)

// Scheduler takes a backup every interval into a directory, verifies each
// one by reading it back and checking every entry under the current
// keyring, and keeps the newest Retain (never deleting the newest verified
// one). Verification results are remembered per file (name, size and
// modification time), so a file altered afterwards is verified again the
// next time it is listed.
type Scheduler struct {
	src    Source
	sched  Schedule
	logger *slog.Logger
	now    func() time.Time

	// run serialises backups (the schedule and RunOnce).
	run sync.Mutex

	mu          sync.Mutex
	checked     map[string]checked // by file name
	started     time.Time
	lastSuccess time.Time
}

// checked is a remembered verification of one version of a file.
type checked struct {
	size    int64
	modTime time.Time
	err     string
}

// NewScheduler prepares sched.Dir (created 0700) for backups of src.
func NewScheduler(src Source, sched Schedule, logger *slog.Logger) (*Scheduler, error) {
	if sched.Dir == "" || sched.Interval <= 0 || sched.Retain < 1 {
		return nil, errors.New("backup: schedule needs a directory, a positive interval and retain of at least 1")
	}
	if err := os.MkdirAll(sched.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{src: src, sched: sched, logger: logger, now: time.Now,
		checked: map[string]checked{}, started: time.Now()}, nil
}

// Run takes a backup every interval until ctx ends. A sealed server, or
// an HA standby (a Source with a Standby method saying so), is skipped
// until the next tick.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.sched.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if skip := s.skip(); skip != "" {
			s.logger.Debug("scheduled backup skipped", "reason", skip)
			continue
		}
		st, err := s.RunOnce(ctx)
		switch {
		case err != nil:
			s.logger.Error("scheduled backup failed", "error", err)
		case !st.Verified:
			s.logger.Error("scheduled backup failed verification", "name", st.Name, "error", st.Error)
		default:
			s.logger.Info("scheduled backup taken and verified", "name", st.Name, "bytes", st.Size)
		}
	}
}

// standby is implemented by a Source that may be an HA standby (the core,
// with HA); only the active node takes scheduled backups.
type standby interface{ Standby() bool }

// skip says why no backup is due now ("" if one is).
func (s *Scheduler) skip() string {
	if s.src.Sealed() {
		return "sealed"
	}
	if sb, ok := s.src.(standby); ok && sb.Standby() {
		return "standby"
	}
	return ""
}

// RunOnce takes one backup, verifies it and prunes old ones. An error
// means no backup file was made; a file that fails verification is kept
// and reported with Verified false.
func (s *Scheduler) RunOnce(ctx context.Context) (Status, error) {
	s.run.Lock()
	defer s.run.Unlock()
	created := s.now().UTC()
	name := filePrefix + created.Format(nameTime) + fileSuffix
	path := filepath.Join(s.sched.Dir, name)
	if err := s.write(ctx, path); err != nil {
		return Status{}, err
	}
	st := s.status(name)
	if st.Verified {
		s.mu.Lock()
		s.lastSuccess = s.now()
		s.mu.Unlock()
	}
	if err := s.prune(); err != nil {
		s.logger.Error("pruning old backups", "error", err)
	}
	return st, nil
}

// write takes a backup into path through a synced temporary file.
func (s *Scheduler) write(ctx context.Context, path string) error {
	f, err := os.CreateTemp(s.sched.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = s.src.BackupStorage(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("backup: write %s: %w", filepath.Base(path), err)
	}
	if d, err := os.Open(s.sched.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// status verifies name unless this version of it was verified before.
func (s *Scheduler) status(name string) Status {
	st := Status{Name: name}
	if t, err := time.Parse(nameTime, strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix)); err == nil {
		st.Created = t
	}
	path := filepath.Join(s.sched.Dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Size = fi.Size()
	s.mu.Lock()
	c, ok := s.checked[name]
	s.mu.Unlock()
	if !ok || c.size != fi.Size() || !c.modTime.Equal(fi.ModTime()) {
		c = checked{size: fi.Size(), modTime: fi.ModTime()}
		if err := s.verify(path); err != nil {
			c.err = err.Error()
		}
		s.mu.Lock()
		s.checked[name] = c
		s.mu.Unlock()
	}
	st.Verified, st.Error = c.err == "", c.err
	return st
}

func (s *Scheduler) verify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.src.VerifyBackup(f)
	return err
}

// names returns the backup files in the directory, oldest first.
func (s *Scheduler) names() ([]string, error) {
	des, err := os.ReadDir(s.sched.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	var out []string
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && strings.HasPrefix(n, filePrefix) && strings.HasSuffix(n, fileSuffix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// List describes every backup file, oldest first, verifying those not
// verified in their current version.
func (s *Scheduler) List() ([]Status, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(names))
	for _, n := range names {
		out = append(out, s.status(n))
	}
	return out, nil
}

// Get describes one backup file; ok is false when there is none by name.
func (s *Scheduler) Get(name string) (Status, bool) {
	names, err := s.names()
	if err != nil || !slices.Contains(names, name) {
		return Status{}, false
	}
	return s.status(name), true
}

// prune deletes all but the newest Retain backups, sparing the newest
// verified one whatever its age.
func (s *Scheduler) prune() error {
	names, err := s.names()
	if err != nil {
		return err
	}
	if len(names) <= s.sched.Retain {
		return nil
	}
	keep := map[string]bool{}
	for _, n := range names[len(names)-s.sched.Retain:] {
		keep[n] = true
	}
	for i := len(names) - 1; i >= 0; i-- {
		if s.status(names[i]).Verified {
			keep[names[i]] = true
			break
		}
	}
	var errs []error
	for _, n := range names {
		if keep[n] {
			continue
		}
		if err := os.Remove(filepath.Join(s.sched.Dir, n)); err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		delete(s.checked, n)
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// LastSuccessAge is the time since the last backup that was taken and
// verified by this process, or since the scheduler started if none was.
func (s *Scheduler) LastSuccessAge() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastSuccess.IsZero() {
		return s.now().Sub(s.started)
	}
	return s.now().Sub(s.lastSuccess)
}
