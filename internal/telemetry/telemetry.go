// Package telemetry keeps Tresor's metrics and exposes them the way Vault
// does at sys/metrics: Prometheus text (?format=prometheus) or a JSON
// snapshot. Metric names follow Vault's (vault_core_unsealed,
// vault_token_creation, vault_runtime_alloc_bytes, ...), so existing
// dashboards and alert rules work unchanged.
package telemetry

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Source is the server state that metrics read at scrape time.
type Source interface {
	Sealed() bool
	TokensCreated() uint64
	TokensRevoked() uint64
	// LeaseCount is 0, 0 while sealed.
	LeaseCount() (total, irrevocable int)
}

// Metrics is a registry of Tresor's metrics. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.HistogramVec
	routes        *prometheus.HistogramVec
	audit         *prometheus.HistogramVec
	auditFailures prometheus.Counter
}

// New registers the metrics, reading gauges from src when scraped.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vault_core_handle_request",
			Help:    "Time to handle a request through the HTTP API, in seconds.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "code"}),
		routes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vault_route",
			Help:    "Time the core spends on a request, by mount and operation, in seconds.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"mount", "operation"}),
		audit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vault_audit_log",
			Help:    "Time to record an audit entry on every device, in seconds.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .01, .1},
		}, []string{"type"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vault_audit_log_request_failure",
			Help: "Requests refused because no audit device could record them.",
		}),
	}
	var (
		memMu sync.Mutex // scrapes may run concurrently
		mem   runtime.MemStats
		memAt time.Time
	)
	readMem := func() runtime.MemStats {
		memMu.Lock()
		defer memMu.Unlock()
		// ReadMemStats stops the world; once a second is enough.
		if time.Since(memAt) > time.Second {
			runtime.ReadMemStats(&mem)
			memAt = time.Now()
		}
		return mem
	}
	m.reg.MustRegister(
		m.requests,
		m.routes,
		m.audit,
		m.auditFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_expire_num_leases", Help: "Leases held by the expiration manager."},
			func() float64 { n, _ := src.LeaseCount(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_expire_num_irrevocable_leases", Help: "Leases whose revocation kept failing."},
			func() float64 { _, n := src.LeaseCount(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_core_unsealed", Help: "1 while the server is unsealed, 0 while sealed."},
			func() float64 {
				if src.Sealed() {
					return 0
				}
				return 1
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vault_token_creation", Help: "Tokens created."},
			func() float64 { return float64(src.TokensCreated()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vault_token_revocation", Help: "Tokens revoked."},
			func() float64 { return float64(src.TokensRevoked()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_runtime_alloc_bytes", Help: "Bytes of allocated heap objects."},
			func() float64 { return float64(readMem().Alloc) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_runtime_sys_bytes", Help: "Bytes obtained from the system."},
			func() float64 { return float64(readMem().Sys) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vault_runtime_num_goroutines", Help: "Goroutines."},
			func() float64 { return float64(runtime.NumGoroutine()) }),
	)
	return m
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(method string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, strconv.Itoa(code)).Observe(d.Seconds())
}

// ObserveRoute records the core's time on one request to a mount.
func (m *Metrics) ObserveRoute(mount, operation string, d time.Duration) {
	m.routes.WithLabelValues(mount, operation).Observe(d.Seconds())
}

// ObserveAudit records the time to write one audit entry ("request" or
// "response") to every device.
func (m *Metrics) ObserveAudit(typ string, d time.Duration) {
	m.audit.WithLabelValues(typ).Observe(d.Seconds())
}

// AuditFailure counts a request refused for want of an audit record.
func (m *Metrics) AuditFailure() { m.auditFailures.Inc() }

// PrometheusContentType is the content type of WritePrometheus's output.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// WritePrometheus writes every metric in Prometheus's text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	families, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("encode metrics: %w", err)
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// Snapshot is the JSON form of sys/metrics, shaped like Vault's in-memory
// sink: gauges, counters and samples, each with a name and value.
func (m *Metrics) Snapshot() (map[string]any, error) {
	families, err := m.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	gauges, counters, samples := []any{}, []any{}, []any{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case mt.Gauge != nil:
				gauges = append(gauges, map[string]any{"Name": f.GetName(), "Value": mt.GetGauge().GetValue(), "Labels": labels})
			case mt.Counter != nil:
				counters = append(counters, map[string]any{"Name": f.GetName(), "Count": mt.GetCounter().GetValue(), "Labels": labels})
			case mt.Histogram != nil:
				h := mt.GetHistogram()
				mean := 0.0
				if h.GetSampleCount() > 0 {
					mean = h.GetSampleSum() / float64(h.GetSampleCount())
				}
				samples = append(samples, map[string]any{"Name": f.GetName(), "Count": h.GetSampleCount(), "Sum": h.GetSampleSum(), "Mean": mean, "Labels": labels})
			}
		}
	}
	for _, list := range [][]any{gauges, counters, samples} {
		sort.SliceStable(list, func(i, j int) bool {
			return list[i].(map[string]any)["Name"].(string) < list[j].(map[string]any)["Name"].(string)
		})
	}
	return map[string]any{
		"Timestamp": time.Now().UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		"Gauges":    gauges,
		"Counters":  counters,
		"Samples":   samples,
	}, nil
}

// RegisterStorageStats exposes a storage backend's commit counters, so that
// fsyncs per write can be read off a running server.
func (m *Metrics) RegisterStorageStats(stats func() (commits, writes uint64)) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tresor_storage_commits_total", Help: "Storage transactions committed (one fsync each)."},
			func() float64 { c, _ := stats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tresor_storage_writes_total", Help: "Storage writes committed."},
			func() float64 { _, w := stats(); return float64(w) }),
	)
}

// RegisterBackupAge exposes the age of the last scheduled backup that was
// taken and verified, as vault_backup_last_success_age_seconds.
func (m *Metrics) RegisterBackupAge(age func() time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vault_backup_last_success_age_seconds",
		Help: "Seconds since the last scheduled backup that was taken and verified (since start if none was).",
	}, func() float64 { return age().Seconds() }))
}
