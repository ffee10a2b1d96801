package raft

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

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

// BenchmarkFSMApplyFlush is the state machine on one node under KV v2
// writes (a metadata and a version key, and past ten versions a delete,
// among 1,000 secrets), in entries of 16 writes, with a commit of the
// layers every 6 entries (about 50 ms of a three-node cluster's load) or
// every 55 (about 500 ms). cpu-ns/write counts the whole process.
func BenchmarkFSMApplyFlush(b *testing.B) {
	for _, every := range []int{6, 55} {
		b.Run(fmt.Sprintf("commit-every-%d", every), func(b *testing.B) {
			f, err := openFSMEvery(b.TempDir()+"/fsm.db", time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = f.close() })
			rng := rand.New(rand.NewPCG(1, 2))
			versions := make([]int, 1000)
			value := make([]byte, 180)
			index := uint64(0)
			entry := func() {
				group := make([]command, 16)
				for i := range group {
					s := rng.IntN(len(versions))
					versions[s]++
					v := versions[s]
					c := &group[i]
					c.Ops = []op{
						{Key: fmt.Sprintf("logical/m/metadata/%08x", s*2654435761), Value: value},
						{Key: fmt.Sprintf("logical/m/versions/%08x/%d", s*2654435761, v), Value: value},
					}
					if v > 10 {
						c.Ops = append(c.Ops, op{Key: fmt.Sprintf("logical/m/versions/%08x/%d", s*2654435761, v-10), Delete: true})
					}
				}
				data, err := encodeEntry(&command{Group: group})
				if err != nil {
					b.Fatal(err)
				}
				index++
				f.ApplyBatch([]*hraft.Log{{Index: index, Type: hraft.LogCommand, Data: data}})
			}
			for range 800 { // every secret has versions to delete
				entry()
			}
			f.flush()
			var before, after syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				entry()
				if i%every == every-1 {
					f.flush()
				}
			}
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N*16), "cpu-ns/write")
		})
	}
}
