package lease

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"
)

func TestRegisterLookup(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := open(t, newStore(), c, newEngine())
	l := &Lease{
		Path:          "database/creds/app",
		MountAccessor: "database_1234",
		TokenAccessor: "acc1",
		TTL:           time.Hour,
		MaxTTL:        24 * time.Hour,
		Renewable:     true,
		InternalData:  map[string]any{"username": "v-app-1"},
		Data:          json.RawMessage(`{"username":"v-app-1"}`),
	}
	id, err := m.Register(ctx, l)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if !regexp.MustCompile(`^database/creds/app/[0-9A-Za-z]{24}$`).MatchString(id) {
		t.Errorf("lease ID %q does not look like <path>/<24 base62>", id)
	}
	got, err := m.Lookup(ctx, id)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	want := *l
	want.IssueTime, want.ExpireTime = c.Now(), c.Now().Add(time.Hour)
	if !reflect.DeepEqual(&want, got) {
		t.Errorf("Lookup = %+v\nwant %+v", got, &want)
	}
	wantCount(t, m, 1, 0)

	if _, err := m.Lookup(ctx, "database/creds/app/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(unknown) = %v, want ErrNotFound", err)
	}
}

func TestRegisterRejects(t *testing.T) {
	tests := map[string]*Lease{
		"no path":            {TTL: time.Hour},
		"no TTL":             {Path: "kv/x"},
		"ID with empty part": {ID: "kv//x", TTL: time.Hour},
		"ID with trailing /": {ID: "kv/x/", TTL: time.Hour},
	}
	for name, l := range tests {
		t.Run(name, func(t *testing.T) {
			m := open(t, newStore(), newClock(), newEngine())
			if _, err := m.Register(context.Background(), l); !errors.Is(err, ErrInvalid) {
				t.Errorf("Register = %v, want ErrInvalid", err)
			}
			wantCount(t, m, 0, 0)
		})
	}
}

func TestRenew(t *testing.T) {
	// Issued at t0 with a 1h TTL and a 3h max TTL, renewed at t0+50m for
	// an hour, then again at t0+1h40m: 80m remain before the cap.
	const remaining = 80 * time.Minute
	tests := map[string]struct {
		increment time.Duration
		wantTTL   time.Duration
	}{
		"no increment uses the issued TTL":         {0, time.Hour},
		"increment below the cap":                  {30 * time.Minute, 30 * time.Minute},
		"increment at the cap":                     {remaining, remaining},
		"increment just above the cap is cut":      {remaining + time.Second, remaining},
		"increment far above the cap is cut to it": {1000 * time.Hour, remaining},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			m := open(t, newStore(), c, newEngine())
			l := register(t, m, "aws/creds/r", "", time.Hour, 3*time.Hour)
			c.advance(50 * time.Minute)
			if _, err := m.Renew(ctx, l.ID, time.Hour); err != nil { // now expires at t0+1h50m
				t.Fatalf("first Renew: %v", err)
			}
			c.advance(50 * time.Minute)
			got, err := m.Renew(ctx, l.ID, tt.increment)
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if want := c.Now().Add(tt.wantTTL); !got.ExpireTime.Equal(want) {
				t.Errorf("ExpireTime = %v, want %v", got.ExpireTime, want)
			}
			if !got.LastRenewalTime.Equal(c.Now()) {
				t.Errorf("LastRenewalTime = %v, want %v", got.LastRenewalTime, c.Now())
			}
			stored, err := m.Lookup(ctx, l.ID)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if !reflect.DeepEqual(got, stored) {
				t.Errorf("stored lease %+v\ndiffers from returned %+v", stored, got)
			}
		})
	}
}

func TestRenewErrors(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := open(t, newStore(), c, newEngine())
	fixed := &Lease{Path: "pki/issue/web", TTL: time.Hour}
	if _, err := m.Register(ctx, fixed); err != nil {
		t.Fatal(err)
	}
	short := register(t, m, "db/creds/r", "", time.Minute, 0)

	if _, err := m.Renew(ctx, fixed.ID, 0); !errors.Is(err, ErrNotRenewable) {
		t.Errorf("Renew(not renewable) = %v, want ErrNotRenewable", err)
	}
	if got := ErrNotRenewable.Error(); got != "lease is not renewable" {
		t.Errorf("ErrNotRenewable text = %q, want Vault's", got)
	}
	if _, err := m.Renew(ctx, "db/creds/r/unknown", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Renew(unknown) = %v, want ErrNotFound", err)
	}
	c.advance(time.Minute)
	if _, err := m.Renew(ctx, short.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Renew(expired) = %v, want ErrNotFound", err)
	}
}

func TestRenewHook(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	var gotIncrement time.Duration
	m, err := Open(ctx, newStore(), Options{
		Now: c.Now,
		Renew: func(_ context.Context, l *Lease, inc time.Duration) (time.Duration, error) {
			gotIncrement = inc
			return 10 * time.Minute, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := register(t, m, "db/creds/r", "", time.Hour, 0)
	got, err := m.Renew(ctx, l.ID, 2*time.Hour)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if gotIncrement != 2*time.Hour {
		t.Errorf("hook saw increment %v, want 2h", gotIncrement)
	}
	if want := c.Now().Add(10 * time.Minute); !got.ExpireTime.Equal(want) {
		t.Errorf("ExpireTime = %v, want the hook's %v", got.ExpireTime, want)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	m := open(t, newStore(), newClock(), newEngine())
	a := register(t, m, "database/creds/app", "", time.Hour, 0)
	register(t, m, "database/creds/app", "", time.Hour, 0)
	register(t, m, "database/creds/web", "", time.Hour, 0)
	register(t, m, "aws/creds/deploy", "", time.Hour, 0)

	tests := map[string][]string{
		"":                    {"aws/", "database/"},
		"database/":           {"creds/"},
		"database":            {"creds/"},
		"database/creds/":     {"app/", "web/"},
		"nothing/here/":       {},
		"database/creds/app/": nil, // two random names, checked below
	}
	for prefix, want := range tests {
		t.Run("prefix "+prefix, func(t *testing.T) {
			got, err := m.List(ctx, prefix)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if want == nil {
				if len(got) != 2 || (a.ID != "database/creds/app/"+got[0] && a.ID != "database/creds/app/"+got[1]) {
					t.Errorf("List = %q, want the two app leases", got)
				}
				return
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("List = %q, want %q", got, want)
			}
		})
	}
	wantCount(t, m, 4, 0)
}
