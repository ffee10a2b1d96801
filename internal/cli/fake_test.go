package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeVault answers the handful of endpoints the CLI uses with vault's JSON
// shapes. Only the token "root" is authorized for secret/ and auth/ paths.
type fakeVault struct {
	*httptest.Server
	mu       sync.Mutex
	sealed   bool
	inited   bool
	progress int
	secrets  map[string]map[string]any
	lastReq  *http.Request
	lastBody map[string]any
}

func newFakeVault(t *testing.T) *fakeVault {
	t.Helper()
	f := &fakeVault{inited: true, secrets: map[string]map[string]any{
		"secret/foo": {"password": "hunter2", "ttl": json.Number("3600")},
	}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		json.NewEncoder(w).Encode(body)
	}
}

func replyErr(w http.ResponseWriter, status int, msgs ...string) {
	reply(w, status, map[string]any{"errors": msgs})
}

func (f *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastReq = r
	f.lastBody = nil
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		dec.Decode(&f.lastBody)
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	switch path {
	case "sys/seal-status":
		reply(w, 200, f.sealStatus())
		return
	case "sys/leader":
		if f.sealed {
			replyErr(w, 503, "Vault is sealed")
			return
		}
		reply(w, 200, map[string]any{"ha_enabled": false, "is_self": false, "leader_address": ""})
		return
	case "sys/init":
		if r.Method == http.MethodGet {
			reply(w, 200, map[string]any{"initialized": f.inited})
			return
		}
		if f.inited {
			replyErr(w, 400, "Vault is already initialized")
			return
		}
		f.inited, f.sealed = true, true
		n, _ := f.lastBody["secret_shares"].(json.Number).Int64()
		keys := []string{}
		for i := range n {
			keys = append(keys, strings.Repeat(string(rune('a'+i)), 4))
		}
		reply(w, 200, map[string]any{"keys": keys, "keys_base64": keys, "root_token": "root"})
		return
	case "sys/unseal":
		if f.lastBody["reset"] == true {
			f.progress = 0
		} else if k, _ := f.lastBody["key"].(string); k == "" {
			replyErr(w, 400, "'key' must be specified in request body as JSON, or 'reset' set to true")
			return
		} else {
			f.progress++
			if f.progress >= 3 {
				f.sealed, f.progress = false, 0
			}
		}
		reply(w, 200, f.sealStatus())
		return
	}
	if f.sealed {
		replyErr(w, 503, "Vault is sealed")
		return
	}
	if r.Header.Get("X-Vault-Token") != "root" {
		replyErr(w, 403, "permission denied")
		return
	}
	switch {
	case path == "sys/seal":
		f.sealed = true
		w.WriteHeader(204)
	case path == "sys/rotate":
		w.WriteHeader(204)
	case path == "sys/key-status":
		reply(w, 200, map[string]any{"term": 2, "install_time": "2024-05-01T10:00:00Z", "encryptions": 7})
	case path == "auth/token/lookup-self":
		reply(w, 200, map[string]any{"data": map[string]any{
			"id": "root", "accessor": "acc1", "policies": []string{"root"},
			"ttl": 0, "renewable": false, "meta": nil,
		}})
	case path == "secret/bad":
		replyErr(w, 400, "missing required field")
	case path == "secret/warn":
		reply(w, 200, map[string]any{"data": map[string]any{"a": "b"}, "warnings": []string{"careful"}})
	case path == "secret" && r.URL.Query().Get("list") == "true":
		reply(w, 200, map[string]any{"data": map[string]any{"keys": []string{"foo", "bar/"}}})
	case strings.HasPrefix(path, "secret/"):
		switch r.Method {
		case http.MethodGet:
			data, ok := f.secrets[path]
			if !ok {
				replyErr(w, 404)
				return
			}
			reply(w, 200, map[string]any{"request_id": "req-1", "lease_id": "", "renewable": false,
				"lease_duration": 2764800, "data": data, "warnings": nil, "mount_type": "kv"})
		case http.MethodPut, http.MethodPost:
			f.secrets[path] = f.lastBody
			w.WriteHeader(204)
		case http.MethodDelete:
			delete(f.secrets, path)
			w.WriteHeader(204)
		}
	default:
		replyErr(w, 404)
	}
}

func (f *fakeVault) sealStatus() map[string]any {
	return map[string]any{
		"type": "shamir", "initialized": f.inited, "sealed": f.sealed,
		"t": 3, "n": 5, "progress": f.progress, "nonce": "",
		"version": "1.21.0", "build_date": "2025-01-01T00:00:00Z",
		"migration": false, "recovery_seal": false, "storage_type": "inmem",
	}
}

// result is what one CLI run produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs Main with a fake environment (vars) and stdin.
func runCLI(t *testing.T, home string, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, Env{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Getenv:  func(k string) string { return vars[k] },
		HomeDir: home,
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}
