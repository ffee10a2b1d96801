package raft

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// singleNode starts a one-node cluster and waits (bounded) until it leads.
func singleNode(b *testing.B) *Store {
	s := openNode(b, b.TempDir(), "n1")
	b.Cleanup(func() { s.Close() })
	if err := s.Start(newLayer(b), true); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.IsLeader() {
		if time.Now().After(deadline) {
			b.Fatal("the single node did not become leader within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	return s
}

// put32 has 32 concurrent writers share about b.N Puts: group commit.
func put32(b *testing.B, s *Store) {
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

// BenchmarkPut is sequential Puts on a one-node cluster: one commit each.
func BenchmarkPut(b *testing.B) {
	s := singleNode(b)
	for i := 0; b.Loop(); i++ {
		if err := s.Put(b.Context(), &storage.Entry{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParallel32 is 32 concurrent writers: group commit.
func BenchmarkPutParallel32(b *testing.B) {
	put32(b, singleNode(b))
}

// BenchmarkPutParallel32ThreeNodes is group commit with replication to two
// followers (loopback, plain TCP).
func BenchmarkPutParallel32ThreeNodes(b *testing.B) {
	put32(b, cluster(b, 3)[0])
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
