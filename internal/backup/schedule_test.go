package backup

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// source is a Source over a real barrier on an in-memory store.
type source struct {
	under  *inmem.Store
	b      *barrier.Barrier
	sealed atomic.Bool
}

func newSource(t *testing.T) *source {
	t.Helper()
	under := inmem.New()
	b := barrier.New(under)
	root := bytes.Repeat([]byte{7}, 32)
	if err := b.Initialize(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"core/mounts", "logical/m/a", "logical/m/b"} {
		if err := b.Put(t.Context(), &storage.Entry{Key: k, Value: []byte("value of " + k)}); err != nil {
			t.Fatal(err)
		}
	}
	// The seal's entry is not the barrier's.
	if err := under.Put(t.Context(), &storage.Entry{Key: "seal/config", Value: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return &source{under: under, b: b}
}

func (s *source) BackupStorage(ctx context.Context, w io.Writer) (Info, error) {
	return Write(ctx, s.under, w)
}

func (s *source) VerifyBackup(r io.Reader) (Info, error) {
	return Read(r, func(e *storage.Entry) error {
		if strings.HasPrefix(e.Key, "seal/") {
			return nil
		}
		return s.b.Verify(e.Key, e.Value)
	})
}

func (s *source) Sealed() bool { return s.sealed.Load() }

// clock is a fake time source that moves a minute per reading.
func clock() func() time.Time {
	t := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Minute); return t }
}

func TestSchedulerTakesVerifiesAndPrunes(t *testing.T) {
	src := newSource(t)
	dir := filepath.Join(t.TempDir(), "backups")
	s, err := NewScheduler(src, Schedule{Dir: dir, Interval: time.Hour, Retain: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("backup directory: %v, %v; want mode 0700", fi, err)
	}
	var taken []string
	for range 5 {
		st, err := s.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !st.Verified || st.Error != "" || st.Size == 0 || st.Created.IsZero() {
			t.Fatalf("RunOnce = %+v, want a verified backup", st)
		}
		taken = append(taken, st.Name)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("kept %d backups, want retain=3: %+v", len(list), list)
	}
	for i, st := range list {
		if st.Name != taken[2+i] || !st.Verified {
			t.Errorf("backup %d = %+v, want verified %s", i, st, taken[2+i])
		}
	}
	if age := s.LastSuccessAge(); age <= 0 || age > time.Hour {
		t.Errorf("LastSuccessAge = %v on the fake clock", age)
	}

	// Damage the newest file: listed as unverified, with the reason.
	newest := filepath.Join(dir, taken[4])
	raw, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	// A different modification time marks the new version.
	if err := os.WriteFile(newest, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(newest, later, later); err != nil {
		t.Fatal(err)
	}
	st, ok := s.Get(taken[4])
	// The flipped byte fails either the entry's tag or the file's digest,
	// whichever the reader meets first.
	if !ok || st.Verified || !strings.Contains(st.Error, "invalid backup file") && !strings.Contains(st.Error, "authentication failed") {
		t.Errorf("damaged backup = %+v, %v; want verified=false with the reason", st, ok)
	}
	if st, ok := s.Get(taken[3]); !ok || !st.Verified {
		t.Errorf("intact backup = %+v, %v", st, ok)
	}
	if _, ok := s.Get("tresor-nosuch.backup"); ok {
		t.Error("Get found a backup that does not exist")
	}
}

// TestSchedulerForeignEntry: a file that is well-formed but holds an entry
// another keyring wrote fails verification on its tag.
func TestSchedulerForeignEntry(t *testing.T) {
	src, other := newSource(t), newSource(t)
	dir := t.TempDir()
	s, err := NewScheduler(src, Schedule{Dir: dir, Interval: time.Hour, Retain: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock()
	var buf bytes.Buffer
	if _, err := other.BackupStorage(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	name := "tresor-20261130T000000.000000000Z.backup"
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	st, ok := s.Get(name)
	if !ok || st.Verified || !strings.Contains(st.Error, "authentication failed") && !strings.Contains(st.Error, "unknown term") {
		t.Errorf("foreign backup = %+v; want a failed tag check", st)
	}
}

func TestSchedulerKeepsNewestVerified(t *testing.T) {
	src := newSource(t)
	dir := t.TempDir()
	s, err := NewScheduler(src, Schedule{Dir: dir, Interval: time.Hour, Retain: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock()
	good, err := s.RunOnce(t.Context())
	if err != nil || !good.Verified {
		t.Fatal(good, err)
	}
	// From now on nothing verifies (the barrier is sealed).
	src.b.Seal()
	for range 3 {
		st, err := s.RunOnce(t.Context())
		if err != nil || st.Verified {
			t.Fatalf("RunOnce with a sealed barrier = %+v, %v; want an unverified backup", st, err)
		}
	}
	list, _ := s.List()
	names := []string{}
	for _, st := range list {
		names = append(names, st.Name)
	}
	if len(list) != 2 || list[0].Name != good.Name {
		t.Errorf("kept %v; want the last verified %s and the newest", names, good.Name)
	}
}

func TestSchedulerRun(t *testing.T) {
	src := newSource(t)
	dir := t.TempDir()
	s, err := NewScheduler(src, Schedule{Dir: dir, Interval: 10 * time.Millisecond, Retain: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, _ := s.List()
		if len(list) == 2 && list[0].Verified && list[1].Verified {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two verified scheduled backups: %+v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// standbySource is a source that is an HA standby while standby is set.
type standbySource struct {
	*source
	standby atomic.Bool
}

func (s *standbySource) Standby() bool { return s.standby.Load() }

func TestSchedulerSkips(t *testing.T) {
	src := &standbySource{source: newSource(t)}
	s, err := NewScheduler(src, Schedule{Dir: t.TempDir(), Interval: time.Hour, Retain: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sealed, standby bool
		want            string
	}{
		{false, false, ""},
		{true, false, "sealed"},
		{false, true, "standby"},
	}
	for _, tc := range cases {
		src.sealed.Store(tc.sealed)
		src.standby.Store(tc.standby)
		if got := s.skip(); got != tc.want {
			t.Errorf("sealed=%v standby=%v: skip = %q, want %q", tc.sealed, tc.standby, got, tc.want)
		}
	}
}
