package bench

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, where a live line is welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress redraws one status line on w every interval until stop is
// closed, then erases it. done is closed once the line is gone.
func progress(w io.Writer, name string, total time.Duration, live *counters, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	const interval = 500 * time.Millisecond
	t := time.NewTicker(interval)
	defer t.Stop()
	start := time.Now()
	last, lastAt := int64(0), start
	for {
		select {
		case <-stop:
			fmt.Fprint(w, "\r\x1b[K")
			return
		case now := <-t.C:
			n := live.requests.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			fmt.Fprintf(w, "\r\x1b[K%s  %s/%s  %d requests  %.0f req/s  %d errors",
				name, now.Sub(start).Truncate(time.Second), total, n, rate, live.errors.Load())
		}
	}
}
