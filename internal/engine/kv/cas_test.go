package kv

import (
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

const (
	errCASMismatch = "check-and-set parameter did not match the current version"
	errCASRequired = "check-and-set parameter required for this call"
)

func TestCAS(t *testing.T) {
	tests := map[string]struct {
		mountRequired bool
		keyRequired   bool
		versions      int // existing versions before the write
		cas           any // nil: no options
		wantErr       string
	}{
		"no cas, not required":        {},
		"cas 0 creates":               {cas: 0},
		"cas 0 on existing key fails": {versions: 1, cas: 0, wantErr: errCASMismatch},
		"cas matches":                 {versions: 2, cas: 2},
		"cas behind":                  {versions: 2, cas: 1, wantErr: errCASMismatch},
		"cas ahead":                   {versions: 2, cas: 3, wantErr: errCASMismatch},
		"cas as string":               {versions: 1, cas: "1"},
		"mount requires, none given":  {mountRequired: true, versions: 1, wantErr: errCASRequired},
		"mount requires, given":       {mountRequired: true, versions: 1, cas: 1},
		"key requires, none given":    {keyRequired: true, versions: 1, wantErr: errCASRequired},
		"key requires, given":         {keyRequired: true, versions: 1, cas: 1},
		"key requires, new key":       {keyRequired: true, cas: 0},
	}
	for name, tc := range tests {
		h := newHarness(t, "2")
		for range tc.versions {
			h.must(logical.UpdateOperation, "data/k", secret("a", 1))
		}
		if tc.keyRequired {
			h.must(logical.UpdateOperation, "metadata/k", map[string]any{"cas_required": true})
		}
		if tc.mountRequired {
			h.must(logical.UpdateOperation, "config", map[string]any{"cas_required": true})
		}
		body := secret("a", 2)
		if tc.cas != nil {
			body["options"] = map[string]any{"cas": tc.cas}
		}
		resp, err := h.do(logical.UpdateOperation, "data/k", body)
		if tc.wantErr != "" {
			wantErr(t, name, err, logical.KindInvalidRequest, tc.wantErr)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := resp.Data["version"]; got != tc.versions+1 {
			t.Errorf("%s: version %v, want %d", name, got, tc.versions+1)
		}
	}
}

// TestCASConcurrent races 50 writers with the same cas: the metadata and
// the version are written in one transaction, so exactly one wins.
func TestCASConcurrent(t *testing.T) {
	h := newHarness(t, "2")
	h.must(logical.UpdateOperation, "data/k", secret("a", 0))
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := h.do(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": i}, "options": map[string]any{"cas": 1}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins, mismatches := 0, 0
	for err := range errs {
		switch e, _ := logical.AsError(err); {
		case err == nil:
			wins++
		case e != nil && e.Error() == errCASMismatch:
			mismatches++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 || mismatches != writers-1 {
		t.Errorf("wins %d, mismatches %d; want 1 and %d", wins, mismatches, writers-1)
	}
	if v := h.must(logical.ReadOperation, "metadata/k", nil).Data["current_version"]; v != 2 {
		t.Errorf("current_version %v, want 2", v)
	}
}
