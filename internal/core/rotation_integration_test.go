package core_test

import (
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestKeyringRotationPaths drives both spellings of the rotation
// endpoints: today's CLI posts sys/rotate/keyring and reads and writes
// sys/rotate/keyring/config; older clients use sys/rotate and
// sys/rotate/config.
func TestKeyringRotationPaths(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	c := s.Client
	term := func() int {
		t.Helper()
		st, err := c.Sys().KeyStatus()
		if err != nil {
			t.Fatal(err)
		}
		return st.Term
	}
	before := term()
	if _, err := c.Logical().Write("sys/rotate/keyring", nil); err != nil {
		t.Fatalf("sys/rotate/keyring: %v", err)
	}
	if _, err := c.Logical().Write("sys/rotate", nil); err != nil {
		t.Fatalf("sys/rotate: %v", err)
	}
	if got := term(); got != before+2 {
		t.Fatalf("term %d after two rotations from %d", got, before)
	}

	// Rotation needs sudo on either path.
	if err := c.Sys().PutPolicy("rotator", `path "sys/rotate/*" { capabilities = ["update"] }
path "sys/rotate" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"rotator"}})
	if err != nil {
		t.Fatal(err)
	}
	limited, _ := c.Clone()
	limited.SetToken(tok.Auth.ClientToken)
	for _, p := range []string{"sys/rotate/keyring", "sys/rotate"} {
		if _, err := limited.Logical().Write(p, nil); statusOf(err) != http.StatusForbidden {
			t.Errorf("%s without sudo: %v; want 403", p, err)
		}
	}

	for _, path := range []string{"sys/rotate/config", "sys/rotate/keyring/config"} {
		sec, err := c.Logical().Read(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if sec.Data["enabled"] != true || sec.Data["interval"].(interface{ String() string }).String() != "0" ||
			sec.Data["max_operations"].(interface{ String() string }).String() != "3865470566" {
			t.Fatalf("%s defaults: %v", path, sec.Data)
		}
	}
	if _, err := c.Logical().Write("sys/rotate/keyring/config", map[string]any{
		"max_operations": 2000000000, "interval": "4320h", "enabled": false,
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Logical().Read("sys/rotate/config") // one setting, two paths
	if err != nil {
		t.Fatal(err)
	}
	if sec.Data["enabled"] != false || sec.Data["interval"] != "4320h0m0s" ||
		sec.Data["max_operations"].(interface{ String() string }).String() != "2000000000" {
		t.Fatalf("after write: %v", sec.Data)
	}
	for name, bad := range map[string]map[string]any{
		"interval under a day": {"interval": "1h"},
		"too few operations":   {"max_operations": 10},
		"too many operations":  {"max_operations": 4000000000},
		"not a boolean":        {"enabled": "yes"},
		"not a duration":       {"interval": "soon"},
	} {
		if _, err := c.Logical().Write("sys/rotate/config", bad); statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v; want 400", name, err)
		}
	}
}
