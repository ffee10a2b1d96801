package kv_test

import (
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestKVv1LeaseDuration pins KV version 1's lease_duration, which Vault
// Agent and consul-template use as the refresh interval: the secret's own
// ttl, else the mount's default lease TTL, else the system's (32 days);
// never a lease ID.
func TestKVv1LeaseDuration(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	if err := c.Sys().Mount("v1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]map[string]any{
		"v1/plain":   {"k": "v"},
		"v1/seconds": {"k": "v", "ttl": "90"},
		"v1/go":      {"k": "v", "ttl": "1h"},
		"v1/number":  {"k": "v", "ttl": 30},
		"v1/days":    {"k": "v", "ttl": "2d"},
		"v1/lease":   {"k": "v", "lease": "45s"},
		"v1/junk":    {"k": "v", "ttl": "soon"},
		"v1/minus":   {"k": "v", "ttl": "-5"},
	} {
		if _, err := c.Logical().Write(path, data); err != nil {
			t.Fatal(err)
		}
	}
	check := func(path string, want int) {
		t.Helper()
		sec, err := c.Logical().Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if sec.LeaseDuration != want || sec.LeaseID != "" || sec.Renewable {
			t.Errorf("%s: lease_duration %d, lease_id %q, renewable %v; want %d, \"\", false", path, sec.LeaseDuration, sec.LeaseID, sec.Renewable, want)
		}
	}
	check("v1/plain", 2764800)
	check("v1/seconds", 90)
	check("v1/go", 3600)
	check("v1/number", 30)
	check("v1/days", 172800)
	check("v1/lease", 45)
	check("v1/junk", 2764800) // unreadable: the default, as Vault
	check("v1/minus", 2764800)
	if err := c.Sys().TuneMount("v1", api.MountConfigInput{DefaultLeaseTTL: "10m"}); err != nil {
		t.Fatal(err)
	}
	check("v1/plain", 600)
	check("v1/seconds", 90)
	// No lease was registered for any of those reads.
	if keys, err := c.Logical().List("sys/leases/lookup/v1/"); err != nil || keys != nil {
		t.Errorf("leases under v1/: %v, %v; want none", keys, err)
	}
}
