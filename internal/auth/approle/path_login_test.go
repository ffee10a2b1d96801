package approle

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

func TestLogin(t *testing.T) {
	b := newTestBackend(t)
	roleID := b.role(t, "web", map[string]any{
		"token_policies": "app,db", "token_ttl": "20m", "token_max_ttl": "1h", "token_no_default_policy": true,
		"token_bound_cidrs": "127.0.0.0/8", "token_num_uses": 4,
	})
	secret, _ := b.secretID(t, "web", map[string]any{"metadata": map[string]any{"env": "prod", "role_name": "spoof"}})

	resp := b.must(t, logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": secret})
	a := resp.Auth
	if a == nil {
		t.Fatal("no auth")
	}
	if !slices.Equal(a.Policies, []string{"app", "db"}) || !slices.Equal(a.TokenPolicies, []string{"app", "db"}) {
		t.Errorf("policies %v / %v", a.Policies, a.TokenPolicies)
	}
	if a.Metadata["role_name"] != "web" || a.Metadata["env"] != "prod" || a.Alias != roleID || a.DisplayName != "" || !a.Renewable {
		t.Errorf("identity %+v", a)
	}
	if a.TTL != 20*time.Minute || a.MaxTTL != time.Hour || a.NumUses != 4 || !slices.Equal(a.BoundCIDRs, []string{"127.0.0.0/8"}) {
		t.Errorf("token settings %+v", a)
	}
	if got := b.SpecialPaths().Unauthenticated; !slices.Equal(got, []string{"login", "login/*"}) {
		t.Errorf("unauthenticated paths %v", got)
	}

	// Without bind_secret_id the role ID alone logs in, within the CIDRs.
	openID := b.role(t, "open", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1/32"})
	if _, err := b.do(t, logical.UpdateOperation, "login", map[string]any{"role_id": openID}); err != nil {
		t.Errorf("login without secret ID: %v", err)
	}
}

func TestLoginFailures(t *testing.T) {
	b := newTestBackend(t)
	roleID := b.role(t, "web", nil)
	once, _ := b.secretID(t, "web", map[string]any{"num_uses": 1})
	expiring, _ := b.secretID(t, "web", map[string]any{"ttl": "1m"})
	destroyed, _ := b.secretID(t, "web", nil)
	b.must(t, logical.UpdateOperation, "role/web/secret-id/destroy", map[string]any{"secret_id": destroyed})
	b.must(t, logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": once})
	b.clock = b.clock.Add(time.Minute)
	other := b.role(t, "other", nil)
	otherSecret, _ := b.secretID(t, "other", nil)

	tests := map[string]struct {
		data   map[string]any
		status int
		msg    string
	}{
		"unknown role ID":         {data: map[string]any{"role_id": "nope", "secret_id": once}, status: 400, msg: "invalid role or secret ID"},
		"unknown secret ID":       {data: map[string]any{"role_id": roleID, "secret_id": "nope"}, status: 400, msg: "invalid role or secret ID"},
		"used-up secret ID":       {data: map[string]any{"role_id": roleID, "secret_id": once}, status: 400, msg: "invalid role or secret ID"},
		"expired secret ID":       {data: map[string]any{"role_id": roleID, "secret_id": expiring}, status: 400, msg: "invalid role or secret ID"},
		"destroyed secret ID":     {data: map[string]any{"role_id": roleID, "secret_id": destroyed}, status: 400, msg: "invalid role or secret ID"},
		"another role's secret":   {data: map[string]any{"role_id": roleID, "secret_id": otherSecret}, status: 400, msg: "invalid role or secret ID"},
		"missing role ID":         {data: map[string]any{"secret_id": once}, status: 400, msg: "missing role_id"},
		"missing secret ID":       {data: map[string]any{"role_id": other}, status: 400, msg: "missing secret_id"},
		"replayed expired secret": {data: map[string]any{"role_id": roleID, "secret_id": expiring}, status: 400, msg: "invalid role or secret ID"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := b.do(t, logical.UpdateOperation, "login", tc.data)
			wantError(t, err, tc.status, tc.msg)
		})
	}
}

func TestLoginCIDR(t *testing.T) {
	b := newTestBackend(t)
	roleID := b.role(t, "web", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8"})
	narrow, _ := b.secretID(t, "web", map[string]any{"cidr_list": "10.1.0.0/16", "num_uses": 1})
	_, err := b.do(t, logical.UpdateOperation, "role/web/secret-id", map[string]any{"cidr_list": "192.168.0.0/16"})
	wantError(t, err, 400, "failed to verify the CIDR restrictions set on the secret ID: cidr_list is not a subset of the role's")

	tests := []struct {
		name, remote string
		msg          string // empty: success
	}{
		{name: "outside the role's CIDRs", remote: "192.168.1.1:1000", msg: `source address "192.168.1.1:1000" unauthorized by CIDR restrictions on the secret ID`},
		{name: "inside role, outside secret ID", remote: "10.2.0.1:1000", msg: `source address "10.2.0.1:1000" unauthorized by CIDR restrictions on the secret ID`},
		{name: "no remote address", remote: "", msg: `source address "" unauthorized by CIDR restrictions on the secret ID`},
		// Refused attempts spent no use: the single use is still there.
		{name: "inside both", remote: "10.1.2.3:1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.doFrom(t, tc.remote, logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": narrow})
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			wantError(t, err, 400, tc.msg)
		})
	}

	wide, _ := b.secretID(t, "web", nil)
	_, err = b.doFrom(t, "172.16.0.1:9", logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": wide})
	wantError(t, err, 400, `source address "172.16.0.1:9" unauthorized by CIDR restrictions on the role`)
}

// TestSingleUseUnderConcurrency races 100 logins for one single-use secret
// ID: exactly one may win.
func TestSingleUseUnderConcurrency(t *testing.T) {
	b := newTestBackend(t)
	roleID := b.role(t, "web", nil)
	secret, _ := b.secretID(t, "web", map[string]any{"num_uses": 1})

	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			_, err := b.do(t, logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": secret})
			if err == nil {
				wins.Add(1)
			} else if e, ok := logical.AsError(err); ok && e.Error() == "invalid role or secret ID" {
				losses.Add(1)
			} else {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 99 {
		t.Fatalf("%d logins succeeded and %d failed, want 1 and 99", wins.Load(), losses.Load())
	}
}

func BenchmarkAppRoleLogin(b *testing.B) {
	tb := newTestBackend(b)
	tb.now = time.Now
	roleID := tb.role(b, "web", map[string]any{"token_policies": "app"})
	secret, _ := tb.secretID(b, "web", nil)
	data := map[string]any{"role_id": roleID, "secret_id": secret}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.do(b, logical.UpdateOperation, "login", data); err != nil {
			b.Fatal(err)
		}
	}
}
