package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// TestSealLifecycle drives init, unseal, health, seal and the sealed
// answers with the official Vault API client.
func TestSealLifecycle(t *testing.T) {
	s := servertest.New(t, servertest.Options{Uninitialized: true})
	sys := s.Client.Sys()

	if ok, err := sys.InitStatus(); err != nil || ok {
		t.Fatalf("InitStatus = %v, %v; want false", ok, err)
	}
	health(t, s.Client, http.StatusNotImplemented, true)

	init, err := sys.Init(&api.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	if len(init.Keys) != 5 || len(init.KeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("Init answer: %d keys, %d base64 keys, root token %q", len(init.Keys), len(init.KeysB64), init.RootToken)
	}
	if _, err := sys.Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("second Init: %v; want 400", err)
	}

	st, err := sys.SealStatus()
	if err != nil || !st.Sealed || !st.Initialized || st.T != 3 || st.N != 5 {
		t.Fatalf("SealStatus = %+v, %v", st, err)
	}
	health(t, s.Client, http.StatusServiceUnavailable, true)

	// While sealed, everything else answers 503 "Vault is sealed".
	s.Client.SetToken(init.RootToken)
	_, err = s.Client.Logical().Read("auth/token/lookup-self")
	if statusOf(err) != http.StatusServiceUnavailable || !hasError(err, "Vault is sealed") {
		t.Fatalf("read while sealed: %v", err)
	}

	// A duplicate share makes no progress; a hex share and its base64 twin
	// are the same share.
	if st, err = sys.Unseal(init.Keys[0]); err != nil || st.Progress != 1 {
		t.Fatalf("unseal 1: %+v, %v", st, err)
	}
	if st, err = sys.Unseal(init.KeysB64[0]); err != nil || st.Progress != 1 {
		t.Fatalf("duplicate share: progress %d, %v; want 1", st.Progress, err)
	}
	if st, err = sys.Unseal(init.Keys[1]); err != nil || st.Progress != 2 || !st.Sealed {
		t.Fatalf("unseal 2: %+v, %v", st, err)
	}
	if st, err = sys.Unseal(init.KeysB64[4]); err != nil || st.Sealed {
		t.Fatalf("unseal 3: %+v, %v", st, err)
	}
	health(t, s.Client, http.StatusOK, false)

	sec, err := s.Client.Logical().Read("auth/token/lookup-self")
	if err != nil || sec.Data["id"] != init.RootToken {
		t.Fatalf("lookup-self: %v, %v", sec, err)
	}

	if err := sys.Seal(); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if st, _ = sys.SealStatus(); !st.Sealed {
		t.Fatal("still unsealed after Seal")
	}
}

func TestUnsealWrongShares(t *testing.T) {
	s := servertest.New(t, servertest.Options{Uninitialized: true})
	sys := s.Client.Sys()
	a, err := sys.Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := servertest.New(t, servertest.Options{Uninitialized: true}).Client.Sys().Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Unseal(a.Keys[0]); err != nil {
		t.Fatal(err)
	}
	// A share of another server: the combination is wrong.
	_, err = sys.Unseal(b.Keys[1])
	if statusOf(err) != http.StatusBadRequest {
		t.Fatalf("wrong combination: %v; want 400", err)
	}
	st, _ := sys.SealStatus()
	if !st.Sealed || st.Progress != 0 {
		t.Fatalf("after wrong combination: %+v; want sealed with progress reset", st)
	}
	// Short and malformed shares are refused without progress.
	for _, k := range []string{"abcd", "not-a-key!!", a.Keys[0][:10]} {
		if _, err := sys.Unseal(k); statusOf(err) != http.StatusBadRequest {
			t.Errorf("unseal %q: %v; want 400", k, err)
		}
	}
	if _, err := sys.Unseal(a.Keys[0]); err != nil {
		t.Fatal(err)
	}
	if st, err := sys.Unseal(a.Keys[2]); err != nil || st.Sealed {
		t.Fatalf("right shares after a failure: %+v, %v", st, err)
	}
}

func health(t *testing.T, c *api.Client, want int, sealed bool) {
	t.Helper()
	resp, err := c.CloneConfig().HttpClient.Get(c.Address() + "/v1/sys/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("sys/health = %d, want %d", resp.StatusCode, want)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	h, err := c.Sys().HealthWithContext(context.Background())
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	if h.Sealed != sealed {
		t.Fatalf("health sealed = %v, want %v", h.Sealed, sealed)
	}
}

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func hasError(err error, msg string) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, e := range re.Errors {
		if e == msg {
			return true
		}
	}
	return false
}
