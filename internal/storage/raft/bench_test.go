package raft

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// BenchmarkPut is sequential Puts on a one-node cluster: one commit each.
func BenchmarkPut(b *testing.B) {
	s := openNode(b, b.TempDir(), "n1")
	defer s.Close()
	if err := s.Start(newLayer(b), true); err != nil {
		b.Fatal(err)
	}
	for !s.IsLeader() {
	}
	for i := 0; b.Loop(); i++ {
		if err := s.Put(b.Context(), &storage.Entry{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParallel32 is 32 concurrent writers: group commit.
func BenchmarkPutParallel32(b *testing.B) {
	s := openNode(b, b.TempDir(), "n1")
	defer s.Close()
	if err := s.Start(newLayer(b), true); err != nil {
		b.Fatal(err)
	}
	for !s.IsLeader() {
	}
	var wg sync.WaitGroup
	per := b.N/32 + 1
	b.ResetTimer()
	for w := range 32 {
		wg.Go(func() {
			for i := range per {
				_ = s.Put(b.Context(), &storage.Entry{Key: fmt.Sprintf("w%d/k%d", w, i), Value: []byte("v")})
			}
		})
	}
	wg.Wait()
}

// BenchmarkPutParallel32ThreeNodes is group commit with replication to two
// followers (loopback, plain TCP).
func BenchmarkPutParallel32ThreeNodes(b *testing.B) {
	s := cluster(b, 3)[0]
	var wg sync.WaitGroup
	per := b.N/32 + 1
	b.ResetTimer()
	for w := range 32 {
		wg.Go(func() {
			for i := range per {
				_ = s.Put(b.Context(), &storage.Entry{Key: fmt.Sprintf("w%d/k%d", w, i), Value: []byte("v")})
			}
		})
	}
	wg.Wait()
}

// BenchmarkGetParallel32ThreeNodes is linearizable reads on the leader:
// concurrent reads share VerifyLeader rounds.
func BenchmarkGetParallel32ThreeNodes(b *testing.B) {
	s := cluster(b, 3)[0]
	if err := s.Put(b.Context(), &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(b.Context(), "k"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
