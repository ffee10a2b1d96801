package core_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

func TestResponseWrapping(t *testing.T) {
	s := servertest.New(t, servertest.Options{})
	if _, err := s.Client.KVv2("secret").Put(context.Background(), "w", map[string]any{"k": "wrapped-value"}); err != nil {
		t.Fatal(err)
	}
	wc := clientWith(t, s, s.RootToken)
	wc.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	sec, err := wc.Logical().Read("secret/data/w")
	if err != nil || sec.WrapInfo == nil || sec.WrapInfo.Token == "" || sec.Data != nil {
		t.Fatalf("wrapped read: %+v %v", sec, err)
	}
	if sec.WrapInfo.TTL != 60 || sec.WrapInfo.CreationPath != "secret/data/w" {
		t.Fatalf("wrap_info: %+v", sec.WrapInfo)
	}
	look, err := s.Client.Logical().Write("sys/wrapping/lookup", map[string]any{"token": sec.WrapInfo.Token})
	if err != nil || look.Data["creation_path"] != "secret/data/w" {
		t.Fatalf("lookup: %+v %v", look, err)
	}

	// A second client unwraps, twice at once: exactly one gets the data.
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			other := clientWith(t, s, "")
			un, err := other.Logical().Unwrap(sec.WrapInfo.Token)
			if err == nil {
				data := un.Data["data"].(map[string]any)
				if data["k"] != "wrapped-value" {
					t.Errorf("unwrapped %v", un.Data)
				}
				got.Add(1)
			} else if statusOf(err) != http.StatusBadRequest {
				t.Errorf("second unwrap: %v; want 400", err)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 1 {
		t.Fatalf("%d unwraps succeeded; want exactly 1", got.Load())
	}

	// A wrapping token dies at its TTL.
	wc.SetWrappingLookupFunc(func(string, string) string { return "1s" })
	short, err := wc.Logical().Read("secret/data/w")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if _, err := clientWith(t, s, "").Logical().Unwrap(short.WrapInfo.Token); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("unwrap after the TTL: %v; want 400", err)
	}

	// sys/wrapping/wrap wraps arbitrary data; rewrap moves it to a new token.
	wc.SetWrappingLookupFunc(func(string, string) string { return "5m" })
	wr, err := wc.Logical().Write("sys/wrapping/wrap", map[string]any{"hello": "world"})
	if err != nil || wr.WrapInfo == nil {
		t.Fatalf("wrap: %+v %v", wr, err)
	}
	re, err := s.Client.Logical().Write("sys/wrapping/rewrap", map[string]any{"token": wr.WrapInfo.Token})
	if err != nil || re.WrapInfo == nil || re.WrapInfo.Token == wr.WrapInfo.Token {
		t.Fatalf("rewrap: %+v %v", re, err)
	}
	if _, err := clientWith(t, s, "").Logical().Unwrap(wr.WrapInfo.Token); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("old token after rewrap: %v; want 400", err)
	}
	un, err := clientWith(t, s, "").Logical().Unwrap(re.WrapInfo.Token)
	if err != nil || un.Data["hello"] != "world" {
		t.Fatalf("unwrap after rewrap: %+v %v", un, err)
	}
	_ = api.ErrSecretNotFound
}
