package coalesce

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every caller gets the result of a call that started after it asked, and
// a burst of callers shares a few calls.
func TestFreshNeverStale(t *testing.T) {
	var f Fresh[int64]
	var calls, counter atomic.Int64
	fn := func() (int64, error) {
		calls.Add(1)
		start := counter.Load()
		time.Sleep(time.Millisecond)
		return start, nil
	}
	const callers = 200
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			asked := counter.Add(1)
			got, err := f.Do(context.Background(), fn)
			if err != nil {
				t.Error(err)
			}
			// The call read the counter after it started, so after this
			// caller's increment.
			if got < asked {
				t.Errorf("caller that asked at %d got a call started at %d", asked, got)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n >= callers {
		t.Errorf("%d calls for %d callers: nothing shared", n, callers)
	}
}

// A caller whose context ends leaves; the round it joined still runs, for
// the callers after it.
func TestFreshContext(t *testing.T) {
	var f Fresh[int64]
	var rounds atomic.Int64
	gate := make(chan struct{})
	fn := func() (int64, error) {
		n := rounds.Add(1)
		if n == 1 {
			<-gate
		}
		return n, nil
	}
	first := make(chan int64)
	go func() {
		v, _ := f.Do(context.Background(), fn)
		first <- v
	}()
	for rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Do(ctx, fn); err != context.Canceled {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(gate)
	if v := <-first; v != 1 {
		t.Fatalf("first caller got round %d", v)
	}
	if v, err := f.Do(context.Background(), fn); err != nil || v < 2 {
		t.Fatalf("caller after the first round got round %d, %v", v, err)
	}
}

// BenchmarkFreshParallel: 32 concurrent callers sharing rounds of a call
// that sleeps about as long as a loopback round trip; calls/op is the
// share of a call each caller costs.
func BenchmarkFreshParallel(b *testing.B) {
	var f Fresh[int]
	var calls atomic.Int64
	fn := func() (int, error) {
		calls.Add(1)
		time.Sleep(50 * time.Microsecond)
		return 1, nil
	}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Do(context.Background(), fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/op")
}
