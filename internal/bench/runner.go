package bench

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1µs to maxLatency with three
// significant digits; slower answers are recorded as maxLatency.
const (
	maxLatency = time.Minute
	sigFigs    = 3
	// maxShards caps the number of histograms (about 100 KiB each): workers
	// beyond it share one, behind a mutex that is then rarely contended.
	maxShards = 64
)

// load describes one stretch of load against one workload.
type load struct {
	concurrency int
	duration    time.Duration
	// rate is the open-loop arrival rate in requests per second; 0 runs a
	// closed loop.
	rate float64
}

// counters are updated live for the progress line.
type counters struct {
	requests, errors atomic.Int64
}

// stats is what a run measured.
type stats struct {
	requests int64
	// unsent counts open-loop requests that were due before the end but
	// found no free worker in time.
	unsent  int64
	errors  map[int]int64 // non-2xx status → count; 0 means no response
	latency *hdrhistogram.Histogram
	elapsed time.Duration
}

// shard is a histogram and error counts shared by a few workers.
type shard struct {
	mu       sync.Mutex
	requests int64
	errors   map[int]int64
	hist     *hdrhistogram.Histogram
}

func (s *shard) record(status int, err error, lat time.Duration) {
	us := min(max(lat.Microseconds(), 1), maxLatency.Microseconds())
	s.mu.Lock()
	s.requests++
	_ = s.hist.RecordValue(us) // in range by construction
	if err != nil {
		s.errors[0]++
	} else if status/100 != 2 {
		s.errors[status]++
	}
	s.mu.Unlock()
}

// dueAt is when request i (from 0) of an open loop at rate per second is
// due: a fixed schedule that does not move when the server falls behind.
func dueAt(start time.Time, i int64, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// dueCount is the number of open-loop requests due within d.
func dueCount(d time.Duration, rate float64) int64 {
	var t0 time.Time
	end := t0.Add(d)
	n := int64(math.Ceil(d.Seconds() * rate))
	// Correct the float estimate against dueAt, which is what run obeys.
	for n > 0 && !dueAt(t0, n-1, rate).Before(end) {
		n--
	}
	for dueAt(t0, n, rate).Before(end) {
		n++
	}
	return n
}

// run puts w under load l until l.duration has passed or ctx ends, and
// returns what it measured. Requests cut short by ctx are not counted. live
// may be nil.
func run(ctx context.Context, w Workload, l load, live *counters) *stats {
	if live == nil {
		live = new(counters)
	}
	shards := make([]*shard, min(l.concurrency, maxShards))
	for i := range shards {
		shards[i] = &shard{
			errors: map[int]int64{},
			hist:   hdrhistogram.New(1, maxLatency.Microseconds(), sigFigs),
		}
	}

	start := time.Now()
	end := start.Add(l.duration)
	var next atomic.Int64 // open loop: index of the next request to claim
	var wg sync.WaitGroup
	for worker := range l.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := shards[worker%len(shards)]
			var timer *time.Timer
			for ctx.Err() == nil {
				var from time.Time
				if l.rate > 0 {
					from = dueAt(start, next.Add(1)-1, l.rate)
					// Past the end, or so far behind that the end has come:
					// what is left is counted as unsent, not sent late.
					if !from.Before(end) || !time.Now().Before(end) {
						return
					}
					if d := time.Until(from); d > 0 {
						if timer == nil {
							timer = time.NewTimer(d)
						} else {
							timer.Reset(d)
						}
						select {
						case <-timer.C:
						case <-ctx.Done():
							timer.Stop()
							return
						}
					}
				} else {
					from = time.Now()
					if !from.Before(end) {
						return
					}
				}
				status, err := w.Do(ctx, worker)
				// Latency counts from when the request was due, so time
				// spent waiting for a free worker is part of it.
				lat := time.Since(from)
				if err != nil && ctx.Err() != nil {
					return
				}
				sh.record(status, err, lat)
				live.requests.Add(1)
				if err != nil || status/100 != 2 {
					live.errors.Add(1)
				}
			}
		}()
	}
	wg.Wait()

	st := &stats{
		errors:  map[int]int64{},
		latency: hdrhistogram.New(1, maxLatency.Microseconds(), sigFigs),
		elapsed: time.Since(start),
	}
	for _, sh := range shards {
		st.requests += sh.requests
		st.latency.Merge(sh.hist)
		for k, v := range sh.errors {
			st.errors[k] += v
		}
	}
	if l.rate > 0 && ctx.Err() == nil {
		st.unsent = max(dueCount(l.duration, l.rate)-st.requests, 0)
	}
	return st
}
