package bench

import (
	"encoding/json"
	"testing"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestAgainstTresor runs the KV workloads against a real in-process server.
func TestAgainstTresor(t *testing.T) {
	srv := servertest.New(t, servertest.Options{})
	for _, name := range []string{"kv-read", "kv-write", "transit-encrypt", "transit-encrypt-batch", "pki-issue-ec"} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runMain(t.Context(), t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken},
				"-workload="+name, "-duration=300ms", "-warmup=0", "-concurrency=4", "-keys=50", "-format=json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			res := rep.Results[0]
			if res.Requests == 0 || res.Errors != 0 {
				t.Errorf("requests %d, errors %v", res.Requests, res.ErrorsByStatus)
			}
			t.Logf("%s: %.0f req/s, p99 %.2fms", name, res.RequestsPerSecond, res.Latency.P99)
			mounts, err := srv.Client.Sys().ListMounts()
			if err != nil {
				t.Fatal(err)
			}
			for path := range mounts {
				if len(path) > 6 && path[:6] == "bench-" {
					t.Errorf("mount %s left behind", path)
				}
			}
		})
	}
}
