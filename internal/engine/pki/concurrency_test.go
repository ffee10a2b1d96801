package pki

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// TestIssueWhileIssuersChange issues from several goroutines while new
// issuers are generated and settings change, under the race detector;
// afterwards the cache must agree with storage.
func TestIssueWhileIssuersChange(t *testing.T) {
	h := newHarness(t)
	h.rootAndRole()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				_, err := h.do(logical.UpdateOperation, "issue/web", m("common_name", fmt.Sprintf("w%d-%d.example.com", w, i), "ttl", "1h"))
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 5 {
			if _, err := h.do(logical.UpdateOperation, "root/generate/internal", m("common_name", fmt.Sprintf("extra %d", i), "key_type", "ec")); err != nil {
				t.Error(err)
			}
			if _, err := h.do(logical.UpdateOperation, "config/urls", m("issuing_certificates", fmt.Sprintf("http://127.0.0.1/%d", i))); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	st, err := h.b.loadState(t.Context(), h.s)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.issuers) != 6 || st.urls == nil || st.urls.IssuingCertificates[0] != "http://127.0.0.1/4" {
		t.Errorf("cached state is stale: %d issuers, urls %+v", len(st.issuers), st.urls)
	}
	list, _ := h.do(logical.ListOperation, "certs/", nil)
	if n := len(list.Data["keys"].([]string)); n != 100+6 {
		t.Errorf("%d stored certificates, want 106", n)
	}
}
