package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDueAt(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		i    int64
		rate float64
		want time.Duration
	}{
		"first is due at start":     {0, 1000, 0},
		"one interval at 1000/s":    {1, 1000, time.Millisecond},
		"one second of 1000/s":      {1000, 1000, time.Second},
		"thirds at 3/s":             {1, 3, 333333333 * time.Nanosecond},
		"fractional rate 0.5/s":     {3, 0.5, 6 * time.Second},
		"no drift after many steps": {1_000_000, 50_000, 20 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := dueAt(start, tc.i, tc.rate).Sub(start); got != tc.want {
				t.Errorf("dueAt(%d, %g) = +%v, want +%v", tc.i, tc.rate, got, tc.want)
			}
		})
	}
}

func TestDueCount(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		rate float64
		want int64
	}{
		"whole intervals":            {time.Second, 100, 100},
		"partial interval rounds up": {1001 * time.Millisecond, 100, 101},
		"one request in a short run": {time.Millisecond, 1, 1},
		"thirds":                     {time.Second, 3, 3},
		"just under a boundary":      {999 * time.Millisecond, 1000, 999},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := dueCount(tc.d, tc.rate); got != tc.want {
				t.Errorf("dueCount(%v, %g) = %d, want %d", tc.d, tc.rate, got, tc.want)
			}
		})
	}
}

// sleeper is a workload whose every request takes d.
type sleeper struct {
	d     time.Duration
	calls atomic.Int64
	fail  bool
}

func (s *sleeper) Name() string                         { return "sleeper" }
func (s *sleeper) Setup(context.Context, *Env) error    { return nil }
func (s *sleeper) Teardown(context.Context, *Env) error { return nil }
func (s *sleeper) Do(ctx context.Context, _ int) (int, error) {
	n := s.calls.Add(1)
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if s.fail && n%2 == 0 {
		return 503, nil
	}
	if s.fail && n%3 == 0 {
		return 0, errors.New("connection refused")
	}
	return 200, nil
}

func TestOpenLoopKeepsSchedule(t *testing.T) {
	// 200/s for 200ms is 40 requests due. Every one of them is either sent
	// or counted as unsent — never lost, never invented — however busy the
	// machine is (a timing assertion here failed under load).
	st := run(t.Context(), &sleeper{d: time.Millisecond}, load{concurrency: 4, duration: 200 * time.Millisecond, rate: 200}, nil)
	if st.requests == 0 || st.requests+st.unsent != 40 {
		t.Errorf("requests, unsent = %d, %d; want some requests and 40 in all", st.requests, st.unsent)
	}
	if n := st.latency.TotalCount(); n != st.requests {
		t.Errorf("%d latencies recorded for %d requests", n, st.requests)
	}
}

func TestOpenLoopCountsQueueingAsLatency(t *testing.T) {
	// One worker, 10ms requests, due every 2ms: the worker falls ever
	// further behind. A closed-loop tool would report 10ms; measured from
	// the schedule, the later requests waited far longer.
	st := run(t.Context(), &sleeper{d: 10 * time.Millisecond}, load{concurrency: 1, duration: 200 * time.Millisecond, rate: 500}, nil)
	if st.requests == 0 || st.requests >= 100 {
		t.Fatalf("requests = %d, want some but fewer than the 100 due", st.requests)
	}
	if st.unsent != 100-st.requests {
		t.Errorf("unsent = %d, want %d", st.unsent, 100-st.requests)
	}
	if max := time.Duration(st.latency.Max()) * time.Microsecond; max < 100*time.Millisecond {
		t.Errorf("max latency = %v, want the queueing delay (>100ms) included", max)
	}
}

func TestClosedLoopCountsErrorsByStatus(t *testing.T) {
	live := new(counters)
	st := run(t.Context(), &sleeper{d: time.Millisecond, fail: true}, load{concurrency: 3, duration: 100 * time.Millisecond}, live)
	if st.requests == 0 {
		t.Fatal("no requests")
	}
	if st.errors[503] == 0 || st.errors[0] == 0 {
		t.Errorf("errors = %v, want both 503 and transport failures", st.errors)
	}
	var errs int64
	for _, n := range st.errors {
		errs += n
	}
	if live.requests.Load() != st.requests || live.errors.Load() != errs {
		t.Errorf("live counters %d/%d, final %d/%d", live.requests.Load(), live.errors.Load(), st.requests, errs)
	}
	r := result("sleeper", st)
	if r.ErrorsByStatus["503"] != st.errors[503] || r.ErrorsByStatus[transportStatus] != st.errors[0] || r.Errors != errs {
		t.Errorf("result errors = %v (%d), stats %v", r.ErrorsByStatus, r.Errors, st.errors)
	}
}

func TestManyWorkersShareShards(t *testing.T) {
	st := run(t.Context(), &sleeper{d: time.Millisecond}, load{concurrency: maxShards + 36, duration: 50 * time.Millisecond}, nil)
	if st.requests == 0 || st.latency.TotalCount() != st.requests {
		t.Errorf("requests %d, histogram count %d", st.requests, st.latency.TotalCount())
	}
}
