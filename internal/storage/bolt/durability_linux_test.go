//go:build linux

package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/testenv"
)

// sysCachestat is cachestat(2)'s number (Linux 6.5+), the same on every
// architecture Go supports except mips.
const sysCachestat = 451

// unsyncedPages asks the kernel how many pages of the file at path are in
// the page cache but not yet on the disk: dirty, or still being written
// back. Those are exactly the bytes a power cut would lose; after an
// fdatasync there are none.
func unsyncedPages(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var rng struct{ off, len uint64 } // len 0: to the end of the file
	var st struct{ cache, dirty, writeback, evicted, recentlyEvicted uint64 }
	_, _, errno := syscall.Syscall6(sysCachestat, f.Fd(), uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return st.dirty + st.writeback, nil
}

// TestAcknowledgedWritesAreOnDisk proves that every write the store
// acknowledges is on the disk when it returns, not just in the page cache:
// after each Put, Delete and Update it asks the kernel (cachestat) how many
// pages of the database file are still dirty, and wants none. A kill -9
// keeps the page cache, so the process crash test cannot see a missing
// fsync; a power cut loses exactly these pages. Writes run one at a time:
// nothing else touches the file between a write's return and the check.
//
// First the test shows that the probe can see a missing fsync here: with
// NoSync, a write leaves dirty pages. Where it cannot (an old kernel, a
// file system that bypasses the page cache), the test skips, or fails when
// TRESOR_REQUIRE names "cachestat".
func TestAcknowledgedWritesAreOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	if fs.Type == tmpfsMagic || fs.Type == ramfsMagic {
		testenv.Missing(t, "cachestat", "%s is in memory (tmpfs), where fsync cannot be observed: set TMPDIR to a disk file system", dir)
	}

	// The probe sees a missing fsync.
	probePath := filepath.Join(dir, "nosync.db")
	probe, err := Open(probePath, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for i := 0; i < 20 && !seen; i++ {
		if err := probe.Put(ctx, &storage.Entry{Key: fmt.Sprintf("probe/%d", i), Value: make([]byte, 512)}); err != nil {
			t.Fatal(err)
		}
		n, err := unsyncedPages(probePath)
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			testenv.Missing(t, "cachestat", "cachestat(2) is not available (Linux 6.5+): %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		seen = n > 0
	}
	probe.Close()
	if !seen {
		testenv.Missing(t, "cachestat", "writes without fsync leave no dirty pages in %s: this file system cannot show a missing fsync", dir)
	}

	path := filepath.Join(dir, "tresor.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(what string) {
		t.Helper()
		n, err := unsyncedPages(path)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%s returned with %d pages of the database not on the disk: the write was acknowledged before fsync", what, n)
		}
	}
	check("Open")
	for i := 0; i < 50; i++ {
		key := fmt.Sprintf("secret/%d", i)
		// Values of several pages, so that a commit writes data pages as
		// well as the meta page.
		if err := s.Put(ctx, &storage.Entry{Key: key, Value: make([]byte, 3*4096+i)}); err != nil {
			t.Fatal(err)
		}
		check("Put " + key)
		if i%5 == 4 {
			if err := s.Delete(ctx, fmt.Sprintf("secret/%d", i-2)); err != nil {
				t.Fatal(err)
			}
			check("Delete")
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.Put(ctx, &storage.Entry{Key: key + "/a", Value: []byte("a")}); err != nil {
					return err
				}
				return tx.Put(ctx, &storage.Entry{Key: key + "/b", Value: []byte("b")})
			})
			if err != nil {
				t.Fatal(err)
			}
			check("Update")
		}
	}
}
