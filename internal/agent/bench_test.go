package agent_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/agent"
	"github.com/tresorhq/tresor/internal/servertest"
)

// BenchmarkRunStartup measures "tresor run" from the call to the child's
// start with 20 references to 20 KV v2 secrets on a local server, and
// reports the median as ms/start-median (the budget: 50 ms). The
// case without references is the baseline: starting a child alone.
func BenchmarkRunStartup(b *testing.B) {
	s := servertest.New(b, servertest.Options{})
	for _, n := range []int{0, 20} {
		b.Run(fmt.Sprintf("refs=%d", n), func(b *testing.B) { benchRun(b, s, n) })
	}
}

func benchRun(b *testing.B, s *servertest.Server, refs int) {
	env := []string{"PATH=" + os.Getenv("PATH")}
	for i := 0; i < refs; i++ {
		p := fmt.Sprintf("bench/app%d", i)
		if _, err := s.Client.KVv2("secret").Put(context.Background(), p, map[string]any{"password": fmt.Sprintf("pw-%d", i)}); err != nil {
			b.Fatal(err)
		}
		env = append(env, fmt.Sprintf("SECRET_%d=tresor://secret/%s#password", i, p))
	}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var took time.Duration
		code, err := agent.Run(context.Background(), s.Client, agent.RunOptions{
			Env:     env,
			Command: []string{"true"},
			Started: func() { took = time.Since(start) },
		})
		if err != nil || code != 0 {
			b.Fatalf("Run = %d, %v", code, err)
		}
		times = append(times, took)
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms/start-median")
}
