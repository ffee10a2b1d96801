package barrier

import (
	"context"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

const benchKey = "logical/0f3e/app/config"

func BenchmarkEncrypt1KiB(b *testing.B) {
	value := make([]byte, 1024)
	br, _ := newUnsealed(b)
	b.Run("Put", func(b *testing.B) {
		ctx := context.Background()
		e := &storage.Entry{Key: benchKey, Value: value}
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			if err := br.Put(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		ring, _ := br.keys()
		t := ring.active()
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encrypt(t.aead, t.number, benchKey, value); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecrypt1KiB(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, 1024)
	br, under := newUnsealed(b)
	if err := br.Put(ctx, &storage.Entry{Key: benchKey, Value: value}); err != nil {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Get(ctx, benchKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		raw, err := under.Get(ctx, benchKey)
		if err != nil {
			b.Fatal(err)
		}
		ring, _ := br.keys()
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			n, err := termOf(benchKey, raw.Value)
			if err != nil {
				b.Fatal(err)
			}
			t, err := ring.term(benchKey, n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := decrypt(t.aead, benchKey, raw.Value); err != nil {
				b.Fatal(err)
			}
		}
	})
}
