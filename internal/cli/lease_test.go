package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// leaseServer answers sys/leases/* with vault's JSON shapes and records
// the last request, for the happy paths no servertest engine can reach
// (none issues leases).
type leaseServer struct {
	*httptest.Server
	mu     sync.Mutex
	method string
	path   string
	body   map[string]any
	header http.Header
}

func newLeaseServer(t *testing.T) *leaseServer {
	t.Helper()
	l := &leaseServer{}
	l.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.Close)
	return l
}

const testLeaseID = "database/creds/readonly/27e1b9a1"

func (l *leaseServer) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.method, l.path, l.body, l.header = r.Method, strings.TrimPrefix(r.URL.Path, "/v1/"), nil, r.Header
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		json.Unmarshal(b, &l.body)
	}
	switch {
	case l.path == "sys/leases/renew":
		reply(w, 200, map[string]any{"request_id": "r1", "lease_id": l.body["lease_id"],
			"renewable": true, "lease_duration": 300, "data": nil})
	case l.path == "sys/leases/lookup" && r.Method == http.MethodPut:
		reply(w, 200, map[string]any{"request_id": "r2", "data": map[string]any{
			"id": l.body["lease_id"], "issue_time": "2024-03-17T16:45:50.755312Z",
			"expire_time": "2024-03-17T16:55:50.755313Z", "last_renewal": nil,
			"renewable": true, "ttl": 592,
		}})
	case l.path == "sys/leases/lookup/database/creds" && r.URL.Query().Get("list") == "true":
		reply(w, 200, map[string]any{"data": map[string]any{"keys": []string{"readonly/", "admin/"}}})
	case strings.HasPrefix(l.path, "sys/leases/revoke"):
		w.WriteHeader(http.StatusNoContent)
	default:
		replyErr(w, 404, "no handler for "+r.Method+" "+r.URL.String())
	}
}

func TestLeaseCommands(t *testing.T) {
	srv := newLeaseServer(t)
	vars := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "root"}
	tests := []struct {
		name       string
		args       []string
		wantMethod string
		wantPath   string
		wantBody   map[string]any
		wantStdout string
		wantStderr string
	}{
		{
			name:       "renew prints the lease table",
			args:       []string{"lease", "renew", "-increment=1h", testLeaseID},
			wantMethod: "PUT", wantPath: "sys/leases/renew",
			wantBody: map[string]any{"lease_id": testLeaseID, "increment": 3600.0},
			wantStdout: "Key                Value\n" +
				"---                -----\n" +
				"lease_id           " + testLeaseID + "\n" +
				"lease_duration     5m\n" +
				"lease_renewable    true\n",
		},
		{
			name:       "legacy renew takes the increment as an argument",
			args:       []string{"renew", testLeaseID, "90"},
			wantMethod: "PUT", wantPath: "sys/leases/renew",
			wantBody:   map[string]any{"lease_id": testLeaseID, "increment": 90.0},
			wantStderr: "`vault renew` is deprecated; use `tresor lease renew`\n",
		},
		{
			name:       "lookup prints the lease data",
			args:       []string{"lease", "lookup", testLeaseID},
			wantMethod: "PUT", wantPath: "sys/leases/lookup",
			wantBody: map[string]any{"lease_id": testLeaseID},
			wantStdout: "Key             Value\n" +
				"---             -----\n" +
				"expire_time     2024-03-17T16:55:50.755313Z\n" +
				"id              " + testLeaseID + "\n" +
				"issue_time      2024-03-17T16:45:50.755312Z\n" +
				"last_renewal    <nil>\n" +
				"renewable       true\n" +
				"ttl             9m52s\n",
		},
		{
			name:       "revoke one lease",
			args:       []string{"lease", "revoke", testLeaseID},
			wantMethod: "PUT", wantPath: "sys/leases/revoke/" + testLeaseID,
			wantBody:   map[string]any{"sync": false},
			wantStdout: "Success! Revoked lease: " + testLeaseID + "\n",
		},
		{
			name:       "revoke a prefix synchronously",
			args:       []string{"lease", "revoke", "-prefix", "-sync", "database/creds"},
			wantMethod: "PUT", wantPath: "sys/leases/revoke-prefix/database/creds",
			wantBody:   map[string]any{"sync": true},
			wantStdout: "Success! Revoked any leases with prefix: database/creds\n",
		},
		{
			name:       "force revoke warns",
			args:       []string{"lease", "revoke", "-f", "-prefix", "database/creds"},
			wantMethod: "PUT", wantPath: "sys/leases/revoke-force/database/creds",
			wantStdout: "Success! Force revoked any leases with prefix: database/creds\n",
			wantStderr: "Warning! Force-removing leases can leave the server out of sync with the secrets engines!\n",
		},
		{
			name:       "legacy revoke",
			args:       []string{"revoke", "-prefix", "database/creds"},
			wantMethod: "PUT", wantPath: "sys/leases/revoke-prefix/database/creds",
			wantBody:   map[string]any{"sync": false},
			wantStdout: "Success! Revoked any leases with prefix: database/creds\n",
			wantStderr: "`vault revoke` is deprecated; use `tresor lease revoke`\n",
		},
		{
			name:       "list",
			args:       []string{"lease", "list", "database/creds/"},
			wantMethod: "GET", wantPath: "sys/leases/lookup/database/creds",
			wantStdout: "Keys\n----\nadmin/\nreadonly/\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, "", vars, "", tt.args...)
			if res.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			}
			srv.mu.Lock()
			method, path, body := srv.method, srv.path, srv.body
			srv.mu.Unlock()
			if method != tt.wantMethod {
				t.Errorf("method %s, want %s", method, tt.wantMethod)
			}
			if path != tt.wantPath {
				t.Errorf("path %q, want %q", path, tt.wantPath)
			}
			for k, want := range tt.wantBody {
				if body[k] != want {
					t.Errorf("body[%q] = %v, want %v (body %v)", k, body[k], want, body)
				}
			}
			if tt.wantStdout != "" && res.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, tt.wantStdout)
			}
			if res.stderr != tt.wantStderr {
				t.Errorf("stderr:\n%q\nwant:\n%q", res.stderr, tt.wantStderr)
			}
		})
	}
}

func TestLeaseUsageErrors(t *testing.T) {
	srv := newLeaseServer(t)
	vars := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "root"}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"force without prefix", []string{"lease", "revoke", "-force", "x"}, 1,
			"Specifying -force requires also specifying -prefix"},
		{"revoke without id", []string{"lease", "revoke"}, 1, "Not enough arguments (expected 1, got 0)"},
		{"renew with bad increment", []string{"lease", "renew", "-increment=soon", "x"}, 1, "invalid duration"},
		{"renew with negative increment", []string{"lease", "renew", "-increment=-5", "x"}, 1, "invalid duration"},
		{"lookup with two ids", []string{"lease", "lookup", "a", "b"}, 1, "Too many arguments (expected 1, got 2)"},
		{"list without prefix", []string{"lease", "list"}, 1, "Not enough arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, "", vars, "", tt.args...)
			if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}
