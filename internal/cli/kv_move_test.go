package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestKVMove(t *testing.T) {
	var (
		mu                 sync.Mutex
		gotMethod, gotPath string
		gotBody            map[string]any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gotMethod, gotPath, gotBody = r.Method, r.URL.Path, nil
		json.NewDecoder(r.Body).Decode(&gotBody)
		if gotBody["to"] == "secret/taken" {
			replyErr(w, 400, "destination already exists")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	vars := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "root"}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantBody   map[string]any
		wantStdout string
		wantStderr string
	}{
		{
			name:       "move within a mount",
			args:       []string{"kv", "move", "secret/app", "/secret/app-old/"},
			wantBody:   map[string]any{"from": "secret/app", "to": "secret/app-old", "copy": false},
			wantStdout: "Success! Moved secret/app to secret/app-old\n",
		},
		{
			name:       "copy across mounts",
			args:       []string{"kv", "move", "-copy", "secret/app", "archive/app"},
			wantBody:   map[string]any{"from": "secret/app", "to": "archive/app", "copy": true},
			wantStdout: "Success! Copied secret/app to archive/app\n",
		},
		{
			name:       "server refusal is exit 2",
			args:       []string{"kv", "move", "secret/app", "secret/taken"},
			wantCode:   2,
			wantStderr: "Error moving secret/app to secret/taken",
		},
		{
			name:       "one argument",
			args:       []string{"kv", "move", "secret/app"},
			wantCode:   1,
			wantStderr: "Not enough arguments (expected 2, got 1)",
		},
		{
			name:       "empty destination",
			args:       []string{"kv", "move", "secret/app", "/"},
			wantCode:   1,
			wantStderr: "must be non-empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			gotBody = nil
			mu.Unlock()
			res := runCLI(t, "", vars, "", tt.args...)
			if res.code != tt.wantCode || res.stdout != tt.wantStdout || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout %q, stderr with %q",
					res.code, res.stdout, res.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantBody == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if gotMethod != http.MethodPut || gotPath != "/v1/sys/kv/move" {
				t.Errorf("request %s %s, want PUT /v1/sys/kv/move", gotMethod, gotPath)
			}
			for k, want := range tt.wantBody {
				if gotBody[k] != want {
					t.Errorf("body[%q] = %v, want %v", k, gotBody[k], want)
				}
			}
		})
	}
}

// TestKVMoveEndToEnd runs kv move against the real sys/kv/move endpoint.
func TestKVMoveEndToEnd(t *testing.T) {
	r, _ := newCLIRunner(t)
	r.run(0, "", "kv", "put", "secret/app", "pw=one")
	r.run(0, "", "kv", "put", "secret/app", "pw=two")
	res := r.run(0, "", "kv", "move", "-copy", "secret/app", "secret/app-copy")
	wantOutput(t, "kv move -copy", res.stdout, "Success! Copied secret/app to secret/app-copy\n")
	if got := r.run(0, "", "kv", "get", "-version=1", "-field=pw", "secret/app-copy").stdout; got != "one" {
		t.Errorf("copied version 1 = %q, want one", got)
	}
	r.run(0, "", "kv", "get", "secret/app") // the source stays

	res = r.run(0, "", "kv", "move", "secret/app", "secret/app-moved")
	wantOutput(t, "kv move", res.stdout, "Success! Moved secret/app to secret/app-moved\n")
	if got := r.run(0, "", "kv", "get", "-field=pw", "secret/app-moved").stdout; got != "two" {
		t.Errorf("moved latest = %q, want two", got)
	}
	r.run(2, "", "kv", "get", "secret/app")
}
