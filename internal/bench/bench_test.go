package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// runMain runs Main with a fake environment and returns exit code and output.
func runMain(ctx context.Context, t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestWorkloadsAgainstFake(t *testing.T) {
	for name := range workloads {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each has its own fake; mostly waiting on the clock
			fake, srv := newFake(t)
			code, out, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": fakeRoot},
				"-workload="+name, "-duration=200ms", "-warmup=20ms", "-concurrency=4", "-keys=20", "-value-size=32", "-format=json")
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			var rep Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("report is not JSON: %v\n%s", err, out)
			}
			if len(rep.Results) != 1 {
				t.Fatalf("results = %d, want 1", len(rep.Results))
			}
			res := rep.Results[0]
			if res.Workload != name || res.Requests == 0 || res.Errors != 0 {
				t.Errorf("result = %+v, want requests and no errors", res)
			}
			if left := fake.leftovers(); len(left) > 0 {
				t.Errorf("teardown left %v", left)
			}
		})
	}
}

func TestKVSetupPreloadsEveryKey(t *testing.T) {
	fake, srv := newFake(t)
	code, _, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": fakeRoot},
		"-workload=kv-list", "-duration=50ms", "-warmup=0", "-keys=37", "-format=json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.kv) != 37 {
		t.Errorf("preloaded %d keys, want 37", len(fake.kv))
	}
	for k, v := range fake.kv {
		var data struct{ Value string }
		if err := json.Unmarshal([]byte(v), &data); err != nil || len(data.Value) != 256 {
			t.Errorf("%s = %.40q…, want a 256-byte value", k, v)
		}
		break
	}
}

func TestCompareHealth(t *testing.T) {
	_, srv := newFake(t)
	code, out, errOut := runMain(t.Context(), t, map[string]string{"TRESOR_ADDR": srv.URL, "TRESOR_TOKEN": fakeRoot, "VAULT_ADDR": "http://wrong.invalid"},
		"-workload=kv-read", "-duration=100ms", "-warmup=0", "-keys=5", "-compare-health", "-format=json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Workload)
		if r.RatioToHealth <= 0 {
			t.Errorf("%s: ratio_to_health = %v, want > 0", r.Workload, r.RatioToHealth)
		}
	}
	if !slices.Equal(names, []string{"kv-read", "health"}) {
		t.Errorf("workloads = %v, want [kv-read health]", names)
	}
	if h := rep.Results[1]; h.RatioToHealth != 1 {
		t.Errorf("health ratio = %v, want 1", h.RatioToHealth)
	}
}

func TestJSONReportShape(t *testing.T) {
	_, srv := newFake(t)
	code, out, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.URL},
		"-workload=health", "-duration=100ms", "-warmup=0", "-rate=200", "-concurrency=2", "-format=json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"address", "mode", "concurrency", "rate", "duration", "warmup", "keys", "value_size", "results"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if doc["mode"] != "open" || doc["rate"] != 200.0 {
		t.Errorf("mode, rate = %v, %v; want open, 200", doc["mode"], doc["rate"])
	}
	res := doc["results"].([]any)[0].(map[string]any)
	for _, k := range []string{"workload", "requests", "errors", "unsent", "duration_seconds", "requests_per_second", "errors_by_status", "latency_ms"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	lat := res["latency_ms"].(map[string]any)
	for _, k := range []string{"mean", "p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q", k)
		}
	}
	// 200/s for 100ms is 20 requests due: each is sent or counted unsent,
	// however busy the machine is.
	if n, u := res["requests"].(float64), res["unsent"].(float64); n == 0 || n+u != 20 {
		t.Errorf("requests, unsent = %v, %v; want some requests and 20 in all", n, u)
	}
	if _, ok := res["ratio_to_health"]; ok {
		t.Error("ratio_to_health present without -compare-health")
	}
}

func TestTableReport(t *testing.T) {
	_, srv := newFake(t)
	code, out, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.URL},
		"-workload=health", "-duration=50ms", "-warmup=0", "-compare-health")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	for _, want := range []string{"workload", "req/s", "p99.9", "health", "1.00× the rate of sys/health"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSetupFailureExits2(t *testing.T) {
	_, srv := newFake(t)
	// A token the fake does not know: setup fails with 403 and exits 2.
	code, _, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "bogus"},
		"-workload=kv-read", "-duration=50ms", "-warmup=0")
	if code != exitServer || !strings.Contains(errOut, "403") {
		t.Errorf("exit %d, stderr %q; want 2 and the 403", code, errOut)
	}
}

func TestInterruptTearsDown(t *testing.T) {
	fake, srv := newFake(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, out, errOut := runMain(ctx, t, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": fakeRoot},
		"-workload=kv-write", "-duration=30s", "-warmup=0", "-keys=5", "-format=json")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errOut)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v to stop", time.Since(start))
	}
	if !strings.Contains(out, `"interrupted": true`) {
		t.Errorf("report does not say interrupted:\n%s", out)
	}
	if left := fake.leftovers(); len(left) > 0 {
		t.Errorf("teardown left %v", left)
	}
}

func TestFlagErrors(t *testing.T) {
	env := map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "t"}
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown workload":       {args: []string{"-workload=nope"}, want: "unknown workload"},
		"undefined flag":         {args: []string{"--nope"}, want: "flag provided but not defined"},
		"zero concurrency":       {args: []string{"-concurrency=0"}, want: "-concurrency"},
		"negative duration":      {args: []string{"-duration=-1s"}, want: "-duration"},
		"bad duration":           {args: []string{"-duration=soon"}, want: "invalid value"},
		"negative rate":          {args: []string{"-rate=-5"}, want: "-rate"},
		"bad format":             {args: []string{"-format=yaml"}, want: "-format"},
		"no keys":                {args: []string{"-keys=0"}, want: "-keys"},
		"empty value":            {args: []string{"-value-size=0"}, want: "-value-size"},
		"slash in mount prefix":  {args: []string{"-mount-prefix=a/b"}, want: "-mount-prefix"},
		"positional argument":    {args: []string{"extra"}, want: "unexpected arguments"},
		"no token":               {args: []string{"-workload=kv-read"}, env: map[string]string{"VAULT_ADDR": "http://x"}, want: "needs a token"},
		"address without scheme": {args: []string{"-address=127.0.0.1:8200"}, want: `address "127.0.0.1:8200"`},
		"missing ca cert":        {args: []string{"-ca-cert=/nonexistent.pem"}, want: "ca-cert"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := env
			if tc.env != nil {
				e = tc.env
			}
			code, out, errOut := runMain(t.Context(), t, e, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
}

func TestEnvPrecedence(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{}, func(k string) string {
		return map[string]string{"VAULT_ADDR": "http://vault", "TRESOR_ADDR": "http://tresor", "VAULT_TOKEN": "vt"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.address != "http://tresor" || cfg.token != "vt" {
		t.Errorf("address, token = %q, %q; want TRESOR_ADDR and VAULT_TOKEN", cfg.address, cfg.token)
	}
}
