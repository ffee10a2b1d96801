package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeVault answers the Vault JSON shapes the workloads use, with just
// enough state to check that setup happened and teardown undid it.
type fakeVault struct {
	mu       sync.Mutex
	mounts   map[string]int    // kv mount → writes still refused (upgrading)
	engines  map[string]string // transit or pki mount → type
	kv       map[string]string // "mount/key" → body
	auths    map[string]string // auth mount → type
	tokens   map[string]string // token → parent ("" for root, "auth:<mount>" for logins)
	roles    map[string]bool   // "mount/role"
	users    map[string]string // "mount/user" → password
	requests map[string]int    // "METHOD /v1/path" shape counter, for tests
	next     int
}

const fakeRoot = "root-token"

func newFake(t *testing.T) (*fakeVault, *httptest.Server) {
	f := &fakeVault{
		mounts: map[string]int{}, engines: map[string]string{}, kv: map[string]string{}, auths: map[string]string{},
		tokens: map[string]string{fakeRoot: ""}, roles: map[string]bool{}, users: map[string]string{},
		requests: map[string]int{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeVault) newToken(parent string) string {
	f.next++
	id := fmt.Sprintf("hvs.fake%d", f.next)
	f.tokens[id] = parent
	return id
}

// revoke removes id and its descendants.
func (f *fakeVault) revoke(id string) {
	delete(f.tokens, id)
	for child, parent := range f.tokens {
		if parent == id {
			f.revoke(child)
		}
	}
}

// leftovers lists what a run failed to clean up.
func (f *fakeVault) leftovers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for m := range f.mounts {
		out = append(out, "mount "+m)
	}
	for m := range f.engines {
		out = append(out, "mount "+m)
	}
	for m := range f.auths {
		out = append(out, "auth "+m)
	}
	if n := len(f.tokens) - 1; n > 0 {
		out = append(out, fmt.Sprintf("%d tokens", n))
	}
	sort.Strings(out)
	return out
}

func reply(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func replyErr(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string][]string{"errors": {msg}})
}

func authReply(w http.ResponseWriter, token string) {
	reply(w, http.StatusOK, map[string]any{"auth": map[string]any{"client_token": token, "policies": []string{"default"}}})
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	var body map[string]any
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&body)
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	parts := strings.Split(path, "/")
	method := r.Method
	if r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[method+" "+parts[0]]++
	tok := r.Header.Get("X-Vault-Token")
	_, authed := f.tokens[tok]

	// Unauthenticated endpoints.
	switch {
	case path == "sys/health":
		reply(w, 200, map[string]any{"initialized": true, "sealed": false, "standby": false})
		return
	case len(parts) >= 3 && parts[0] == "auth" && f.auths[parts[1]] == "approle" && parts[2] == "login" && method == "POST":
		if f.roles[parts[1]+"/"+str("role_id")] && str("secret_id") == "secret-"+str("role_id") {
			authReply(w, f.newToken("auth:"+parts[1]))
		} else {
			replyErr(w, 400, "invalid role or secret ID")
		}
		return
	case len(parts) == 3 && parts[0] == "auth" && f.auths[parts[1]] == "jwt" && parts[2] == "login" && method == "POST":
		// The fake trusts any three-part token for a configured role.
		if f.roles[parts[1]+"/"+str("role")] && strings.Count(str("jwt"), ".") == 2 {
			authReply(w, f.newToken("auth:"+parts[1]))
		} else {
			replyErr(w, 400, "error validating token")
		}
		return
	case len(parts) == 4 && parts[0] == "auth" && f.auths[parts[1]] == "userpass" && parts[2] == "login" && method == "POST":
		if pw, ok := f.users[parts[1]+"/"+parts[3]]; ok && pw == str("password") {
			authReply(w, f.newToken("auth:"+parts[1]))
		} else {
			replyErr(w, 400, "invalid username or password")
		}
		return
	}
	if !authed {
		replyErr(w, 403, "permission denied")
		return
	}

	switch {
	case len(parts) == 3 && parts[0] == "sys" && parts[1] == "mounts":
		switch method {
		case "POST":
			if t := str("type"); t == "transit" || t == "pki" {
				f.engines[parts[2]] = t
				reply(w, 204, nil)
				return
			}
			opts, _ := body["options"].(map[string]any)
			if str("type") != "kv" || opts["version"] != "2" {
				replyErr(w, 400, "want kv version 2")
				return
			}
			f.mounts[parts[2]] = 2 // refuse two writes, as a fresh kv-v2 mount upgrading
			reply(w, 204, nil)
		case "DELETE":
			delete(f.mounts, parts[2])
			delete(f.engines, parts[2])
			reply(w, 204, nil)
		}
	case len(parts) == 3 && parts[0] == "sys" && parts[1] == "auth":
		switch method {
		case "POST":
			f.auths[parts[2]] = str("type")
			reply(w, 204, nil)
		case "DELETE":
			// Disabling an auth method revokes the tokens it issued.
			delete(f.auths, parts[2])
			f.revoke("auth:" + parts[2])
			reply(w, 204, nil)
		}
	case path == "auth/token/create" && method == "POST":
		authReply(w, f.newToken(tok))
	case path == "auth/token/lookup-self" && method == "GET":
		reply(w, 200, map[string]any{"data": map[string]any{"id": tok, "policies": []string{"default"}}})
	case path == "auth/token/revoke-self" && method == "POST":
		f.revoke(tok)
		reply(w, 204, nil)
	case len(parts) >= 4 && parts[0] == "auth" && f.auths[parts[1]] == "approle" && parts[2] == "role":
		key := parts[1] + "/" + parts[3]
		switch {
		case len(parts) == 4 && method == "POST":
			f.roles[key] = true
			reply(w, 204, nil)
		case len(parts) == 5 && parts[4] == "role-id" && method == "GET" && f.roles[key]:
			reply(w, 200, map[string]any{"data": map[string]any{"role_id": parts[3]}})
		case len(parts) == 5 && parts[4] == "secret-id" && method == "POST" && f.roles[key]:
			reply(w, 200, map[string]any{"data": map[string]any{"secret_id": "secret-" + parts[3], "secret_id_accessor": "acc"}})
		default:
			replyErr(w, 404, "no handler")
		}
	case len(parts) == 3 && parts[0] == "auth" && f.auths[parts[1]] == "jwt" && parts[2] == "config" && method == "POST":
		reply(w, 204, nil)
	case len(parts) == 4 && parts[0] == "auth" && f.auths[parts[1]] == "jwt" && parts[2] == "role" && method == "POST":
		f.roles[parts[1]+"/"+parts[3]] = true
		reply(w, 204, nil)
	case len(parts) == 4 && parts[0] == "auth" && f.auths[parts[1]] == "userpass" && parts[2] == "users" && method == "POST":
		f.users[parts[1]+"/"+parts[3]] = str("password")
		reply(w, 204, nil)
	case len(parts) >= 3 && f.engines[parts[0]] != "" && method == "POST":
		// transit keys/encrypt, pki root/roles/issue: any write succeeds.
		reply(w, 200, map[string]any{"data": map[string]any{}})
	case len(parts) >= 2 && parts[1] == "data":
		refuse, ok := f.mounts[parts[0]]
		if !ok {
			replyErr(w, 404, "no handler for route")
			return
		}
		key := parts[0] + "/" + strings.Join(parts[2:], "/")
		switch method {
		case "GET":
			if v, ok := f.kv[key]; ok {
				reply(w, 200, map[string]any{"data": map[string]any{"data": json.RawMessage(v), "metadata": map[string]any{"version": 1}}})
			} else {
				reply(w, 404, map[string][]string{"errors": {}})
			}
		case "POST":
			if refuse > 0 {
				f.mounts[parts[0]] = refuse - 1
				replyErr(w, 400, "Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly.")
				return
			}
			data, _ := json.Marshal(body["data"])
			f.kv[key] = string(data)
			reply(w, 200, map[string]any{"data": map[string]any{"version": 1}})
		}
	case len(parts) >= 2 && parts[1] == "metadata" && method == "LIST":
		if _, ok := f.mounts[parts[0]]; !ok {
			replyErr(w, 404, "no handler for route")
			return
		}
		prefix := parts[0] + "/" + strings.Join(parts[2:], "/")
		var keys []string
		for k := range f.kv {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				keys = append(keys, rest)
			}
		}
		reply(w, 200, map[string]any{"data": map[string]any{"keys": keys}})
	default:
		replyErr(w, 404, "no handler for route "+path)
	}
}
