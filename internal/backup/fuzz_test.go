package backup

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// FuzzRead feeds arbitrary bytes to the parser: it must never panic, must
// answer either a valid read or ErrInvalid, and a file it accepts must be
// the canonical encoding of what it read (rewriting gives the same bytes).
func FuzzRead(f *testing.F) {
	s := inmem.New()
	fill(f, s, sample)
	var good bytes.Buffer
	if _, err := Write(f.Context(), s, &good); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:len(good.Bytes())/2])
	f.Add([]byte("TRESORBK\x00\x01\x00"))
	f.Add([]byte("TRESORBK\x00\x01\x01\x01k\x01v\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := inmem.New()
		_, err := Read(bytes.NewReader(b), func(e *storage.Entry) error {
			return got.Put(t.Context(), &storage.Entry{Key: e.Key, Value: bytes.Clone(e.Value)})
		})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		var again bytes.Buffer
		if _, err := Write(t.Context(), got, &again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), b) {
			t.Fatalf("accepted a file that is not canonical")
		}
	})
}
