package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a whole run, as printed by -format=json.
type Report struct {
	Address     string `json:"address"`
	Mode        string `json:"mode"` // "closed" or "open"
	Concurrency int    `json:"concurrency"`
	// Rate is the open-loop target in requests per second, 0 when closed.
	Rate      float64  `json:"rate"`
	Duration  string   `json:"duration"`
	Warmup    string   `json:"warmup"`
	Keys      int      `json:"keys"`
	ValueSize int      `json:"value_size"`
	Results   []Result `json:"results"`
	// Interrupted is set when Ctrl-C cut the run short.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Result is one workload's measurement.
type Result struct {
	Workload string `json:"workload"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	// Unsent counts open-loop requests that were due but never sent
	// because every worker was still busy when the run ended.
	Unsent            int64   `json:"unsent"`
	DurationSeconds   float64 `json:"duration_seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// ErrorsByStatus counts failed requests by HTTP status; "transport"
	// counts requests that got no response.
	ErrorsByStatus map[string]int64 `json:"errors_by_status"`
	Latency        Latency          `json:"latency_ms"`
	// RatioToHealth is RequestsPerSecond over sys/health's, with
	// -compare-health.
	RatioToHealth float64 `json:"ratio_to_health,omitempty"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// transportStatus is the ErrorsByStatus key for requests without a response.
const transportStatus = "transport"

// result summarises stats for the report.
func result(name string, st *stats) Result {
	r := Result{
		Workload:        name,
		Requests:        st.requests,
		Unsent:          st.unsent,
		DurationSeconds: st.elapsed.Seconds(),
		ErrorsByStatus:  map[string]int64{},
	}
	if s := st.elapsed.Seconds(); s > 0 {
		r.RequestsPerSecond = float64(st.requests) / s
	}
	for status, n := range st.errors {
		key := strconv.Itoa(status)
		if status == 0 {
			key = transportStatus
		}
		r.ErrorsByStatus[key] = n
		r.Errors += n
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	h := st.latency
	r.Latency = Latency{
		Mean: h.Mean() / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
	return r
}

// writeJSON prints the report as indented JSON.
func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// writeTable prints the report for people.
func writeTable(w io.Writer, r *Report) error {
	mode := "closed loop"
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop at %g req/s", r.Rate)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d workers, %s, %s each after %s warm-up\n\n", r.Address, r.Concurrency, mode, r.Duration, r.Warmup)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\trequests\treq/s\tp50\tp90\tp99\tp99.9\tmax\terrors\t")
	for _, res := range r.Results {
		l := res.Latency
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", res.Workload, res.Requests, res.RequestsPerSecond,
			msString(l.P50), msString(l.P90), msString(l.P99), msString(l.P999), msString(l.Max), res.Errors)
	}
	tw.Flush()
	for _, res := range r.Results {
		if res.Errors > 0 {
			fmt.Fprintf(&b, "\n%s errors:", res.Workload)
			for _, k := range slices.Sorted(maps.Keys(res.ErrorsByStatus)) {
				fmt.Fprintf(&b, " %s×%d", k, res.ErrorsByStatus[k])
			}
		}
		if res.Unsent > 0 {
			fmt.Fprintf(&b, "\n%s: %d requests due but not sent (the server fell behind -rate; raise -concurrency)", res.Workload, res.Unsent)
		}
		if res.RatioToHealth > 0 {
			fmt.Fprintf(&b, "\n%s: %.2f× the rate of sys/health", res.Workload, res.RatioToHealth)
		}
	}
	if r.Interrupted {
		b.WriteString("\ninterrupted: figures cover the part that ran")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// msString prints milliseconds with a precision that suits their size.
func msString(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
