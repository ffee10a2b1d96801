package ui_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
)

// browser is a cookie-keeping HTTP client that fills in the CSRF token of
// the last page it saw, as a real browser submitting that page's form.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
	last *http.Response
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if m := csrfRe.FindStringSubmatch(body); m != nil {
		b.csrf = m[1]
	}
	b.last = resp
	return resp.StatusCode, body
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) want(code int, body string, status int, contains ...string) {
	b.t.Helper()
	if code != status {
		b.t.Fatalf("%s: status %d, want %d\n%s", b.last.Request.URL.Path, code, status, body)
	}
	text := html.UnescapeString(body)
	for _, s := range contains {
		if !strings.Contains(text, s) {
			b.t.Fatalf("%s: page lacks %q\n%s", b.last.Request.URL.Path, s, body)
		}
	}
}

func (b *browser) signInToken(token string) {
	b.t.Helper()
	b.get("/ui/login")
	code, body := b.post("/ui/login", url.Values{"method": {"token"}, "token": {token}})
	b.want(code, body, http.StatusOK, "Secrets engines")
}

func TestSecurityHeaders(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	b := newBrowser(t, s.Addr)
	code, body := b.get("/ui/login")
	b.want(code, body, http.StatusOK, "Sign in")
	h := b.last.Header
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, " onclick") {
		t.Error("page has inline script or style")
	}
	u, _ := url.Parse(s.Addr + "/ui/")
	cookies := b.c.Jar.Cookies(u)
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	if sc := b.last.Header.Get("Set-Cookie"); sc != "" && (!strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict")) {
		t.Errorf("Set-Cookie = %q", sc)
	}
	code, body = b.get("/ui/static/app.css")
	if code != 200 || !strings.Contains(body, ":root") {
		t.Errorf("static css: %d", code)
	}
	// / sends a browser to the UI; the API is untouched.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := s.Client.Sys().Health(); err != nil {
		t.Errorf("API beside the UI: %v", err)
	}
}

func TestCSRFAndSession(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	b := newBrowser(t, s.Addr)
	b.get("/ui/login")
	before := b.csrf
	for _, csrf := range []string{"", "forged"} {
		form := url.Values{"method": {"token"}, "token": {s.RootToken}}
		req, _ := http.NewRequest(http.MethodPost, s.Addr+"/ui/login", strings.NewReader(form.Encode()+"&csrf="+csrf))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		code, body := b.do(req)
		b.want(code, body, http.StatusForbidden, "expired")
	}
	// Signing in starts a new session: the old CSRF token and cookie die.
	u, _ := url.Parse(s.Addr + "/ui/")
	oldCookie := b.c.Jar.Cookies(u)[0].Value
	b.csrf = before
	b.signInToken(s.RootToken)
	if b.c.Jar.Cookies(u)[0].Value == oldCookie {
		t.Error("session ID kept across sign-in")
	}
	if strings.Contains(b.last.Request.URL.String(), s.RootToken) {
		t.Error("token in a URL")
	}
	// A wrong token is refused with the server's message.
	b2 := newBrowser(t, s.Addr)
	b2.get("/ui/login")
	code, body := b2.post("/ui/login", url.Values{"method": {"token"}, "token": {"hvs.wrong"}})
	b2.want(code, body, http.StatusBadRequest, "Sign in failed", "permission denied")

	// Sign out with revoke: the session forgets the token and the token dies.
	sec, err := s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	b3 := newBrowser(t, s.Addr)
	b3.signInToken(sec.Auth.ClientToken)
	code, body = b3.post("/ui/logout", url.Values{"revoke": {"1"}})
	b3.want(code, body, http.StatusOK, "Signed out.")
	code, body = b3.get("/ui/secrets")
	b3.want(code, body, http.StatusOK, "Sign in")
	if _, err := s.Client.Auth().Token().Lookup(sec.Auth.ClientToken); err == nil {
		t.Error("token still alive after sign-out with revoke")
	}

	// A token revoked behind the UI's back ends the session at the next
	// denial, instead of showing "not permitted" for ever.
	sec, err = s.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	b4 := newBrowser(t, s.Addr)
	b4.signInToken(sec.Auth.ClientToken)
	if err := s.Client.Auth().Token().RevokeTree(sec.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	code, body = b4.get("/ui/kv?mount=secret&path=a")
	b4.want(code, body, http.StatusOK, "Your session has ended", "Sign in")
}

func TestInitAndUnseal(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true, Uninitialized: true})
	b := newBrowser(t, s.Addr)
	code, body := b.get("/ui/")
	b.want(code, body, http.StatusOK, "Initialise Tresor")
	code, body = b.post("/ui/init", url.Values{"shares": {"3"}, "threshold": {"4"}})
	b.want(code, body, http.StatusBadRequest, "threshold")
	code, body = b.post("/ui/init", url.Values{"shares": {"3"}, "threshold": {"2"}})
	b.want(code, body, http.StatusOK, "<strong>once</strong>", "Download keys")
	keys := regexp.MustCompile(`<li><code>([^<]+)</code></li>`).FindAllStringSubmatch(body, -1)
	if len(keys) != 3 {
		t.Fatalf("keys on the page: %v", keys)
	}
	code, body = b.get("/ui/unseal")
	b.want(code, body, http.StatusOK, "0 of 2 shares entered")
	code, body = b.post("/ui/unseal", url.Values{"key": {"bm90IGEga2V5"}})
	b.want(code, body, http.StatusBadRequest)
	code, body = b.post("/ui/unseal", url.Values{"key": {html.UnescapeString(keys[0][1])}})
	b.want(code, body, http.StatusOK, "1 of 2 shares entered")
	code, body = b.post("/ui/unseal", url.Values{"key": {html.UnescapeString(keys[2][1])}})
	b.want(code, body, http.StatusOK, "Tresor is unsealed.", "Sign in")
	st, err := s.Client.Sys().SealStatus()
	if err != nil || st.Sealed {
		t.Fatalf("seal status %+v %v", st, err)
	}
}

func TestSecretsLifecycle(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	b := newBrowser(t, s.Addr)
	b.signInToken(s.RootToken)

	code, body := b.get("/ui/kv?mount=secret&path=")
	b.want(code, body, http.StatusOK, "Create secret")
	code, body = b.get("/ui/kv/edit?mount=secret&path=&new=1")
	b.want(code, body, http.StatusOK, "Create a secret")
	// From a folder, the new secret's path starts with the folder's.
	code, body = b.get("/ui/kv/edit?mount=secret&path=team/")
	b.want(code, body, http.StatusOK, "Create a secret", `id="path" name="path" value="team/"`)
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"team/"}, "new": {"1"}, "cas": {"0"}, "mode": {"rows"}, "key": {"a"}, "value": {"b"}})
	b.want(code, body, http.StatusBadRequest, "does not end in", `id="path"`)
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "cas": {"0"}, "mode": {"rows"},
		"key": {"user", "password", ""}, "value": {"app", "s3cret-one", ""}})
	b.want(code, body, http.StatusOK, "Saved secret/team/app/db", "version 1", "s3cret-one", "Reveal")
	// A second write from a stale form is refused by check-and-set.
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "cas": {"1"}, "mode": {"json"},
		"json": {`{"user": "app", "password": "s3cret-two", "port": 5432}`}})
	b.want(code, body, http.StatusOK, "version 2", "s3cret-two", "5432")
	// A number is kept as a number: the editor opens in JSON mode.
	code, body = b.get("/ui/kv/edit?mount=secret&path=team/app/db")
	b.want(code, body, http.StatusOK, `value="json" checked`, `"port": 5432`)
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "cas": {"1"}, "mode": {"json"},
		"json": {`{"user": "late"}`}})
	b.want(code, body, http.StatusBadRequest, "Someone else changed this secret")
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "cas": {"2"}, "mode": {"json"}, "json": {`[1]`}})
	b.want(code, body, http.StatusBadRequest, "not an object")

	code, body = b.get("/ui/kv/history?mount=secret&path=team/app/db")
	b.want(code, body, http.StatusOK, "Roll back to 1", "current")
	code, body = b.get("/ui/kv/diff?mount=secret&path=team/app/db&a=1&b=2")
	b.want(code, body, http.StatusOK, "2 changes", `class="added"`, `class="changed"`)
	code, body = b.post("/ui/kv/rollback", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "version": {"1"}})
	b.want(code, body, http.StatusOK, "version 3 is now a copy of version 1")
	sec, err := s.Client.KVv2("secret").Get(context.Background(), "team/app/db")
	if err != nil || sec.Data["password"] != "s3cret-one" || sec.VersionMetadata.Version != 3 {
		t.Fatalf("after rollback: %+v %v", sec, err)
	}

	code, body = b.get("/ui/kv/search?mount=secret&q=*APP%2F*")
	b.want(code, body, http.StatusOK, "team/app/db")
	code, body = b.get("/ui/kv/search?mount=secret&q=nothing-like-it")
	b.want(code, body, http.StatusOK, "No secret path you may see matches")

	code, body = b.post("/ui/kv/metadata", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "max_versions": {"5"},
		"key": {"owner"}, "value": {"payments"}})
	b.want(code, body, http.StatusOK, "Metadata saved.", "payments")

	code, body = b.post("/ui/kv/versions", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "versions": {"3"}, "action": {"delete"}})
	b.want(code, body, http.StatusOK, "This version is deleted")
	code, body = b.post("/ui/kv/versions", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "versions": {"3"}, "action": {"undelete"}})
	b.want(code, body, http.StatusOK, "s3cret-one")

	code, body = b.post("/ui/kv/move", url.Values{"mount": {"secret"}, "path": {"team/app/db"}, "to": {"secret/team/app/database"}})
	b.want(code, body, http.StatusOK, "Moved to secret/team/app/database")
	if _, err := s.Client.KVv2("secret").Get(context.Background(), "team/app/database"); err != nil {
		t.Fatalf("after move: %v", err)
	}

	// Bad paths never reach the API.
	code, body = b.get("/ui/kv?mount=secret&path=a/../../sys/seal")
	b.want(code, body, http.StatusBadRequest, "not valid")

	// KV version 1 works too.
	if err := s.Client.Sys().Mount("old", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"old"}, "path": {"x"}, "mode": {"rows"}, "key": {"k"}, "value": {"v1-value"}})
	b.want(code, body, http.StatusOK, "Saved old/x", "v1-value")

	// No page ever carries the root token.
	for _, p := range []string{"/ui/secrets", "/ui/token", "/ui/policies", "/ui/ops/mounts", "/ui/ops/metrics", "/ui/authmethods", "/ui/ops/audit"} {
		code, body = b.get(p)
		b.want(code, body, http.StatusOK)
		if strings.Contains(body, s.RootToken) {
			t.Errorf("%s shows the token", p)
		}
	}
}

func TestNotPermittedWhyAndPolicyError(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	c := s.Client
	if err := c.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("dev", `
path "secret/data/app/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/app/*" { capabilities = ["list", "read"] }
path "secret/data/app/prod" { capabilities = ["deny"] }
`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/userpass/users/ana", map[string]any{"password": "pw-ana-123", "policies": "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app/prod", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.Addr)
	b.get("/ui/login?method=userpass")
	code, body := b.post("/ui/login", url.Values{"method": {"userpass"}, "username": {"ana"}, "password": {"wrong"}})
	b.want(code, body, http.StatusBadRequest, "Sign in failed")
	code, body = b.post("/ui/login", url.Values{"method": {"userpass"}, "username": {"ana"}, "password": {"pw-ana-123"}})
	b.want(code, body, http.StatusOK, "Signed in as userpass-ana")

	// She sees the actions her policy allows, and only those.
	if _, err := c.KVv2("secret").Put(context.Background(), "app/web", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	code, body = b.get("/ui/kv?mount=secret&path=app/web")
	b.want(code, body, http.StatusOK, ">Edit</a>", ">History</a>")
	for _, hidden := range []string{">Move</a>", "Destroy version", "Delete all versions"} {
		if strings.Contains(body, hidden) {
			t.Errorf("page offers %q, which her policy does not allow", hidden)
		}
	}
	code, body = b.get("/ui/kv?mount=secret&path=app/prod")
	b.want(code, body, http.StatusForbidden, "Not permitted", "secret/data/app/prod")
	code, body = b.get("/ui/why?path=secret/data/app/prod&op=read")
	b.want(code, body, http.StatusOK, "Denied", `path "secret/data/app/prod"`, "deny wins")
	code, body = b.get("/ui/why?path=secret/data/app/web&op=update")
	b.want(code, body, http.StatusOK, "Allowed", `path "secret/data/app/*"`, "longest matching prefix")
	// Policies are not hers to edit.
	code, body = b.post("/ui/policy", url.Values{"name": {"dev"}, "policy": {`path "x" { capabilities = ["read"] }`}})
	b.want(code, body, http.StatusForbidden, "Not permitted")

	root := newBrowser(t, s.Addr)
	root.signInToken(s.RootToken)
	bad := "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n\npath \"other\" {\n  capabilities = [\"fly\"]\n}\n"
	code, body = root.post("/ui/policy", url.Values{"name": {"broken"}, "policy": {bad}})
	root.want(code, body, http.StatusBadRequest, "line 6", `id="error-line"`)
	if !regexp.MustCompile(`<li value="6" class="bad"`).MatchString(body) {
		t.Errorf("line 6 is not marked:\n%s", body)
	}
	code, body = root.post("/ui/policy", url.Values{"name": {"fine"}, "policy": {`path "x" { capabilities = ["read"] }`}})
	root.want(code, body, http.StatusOK, "Saved policy fine.")
}

// TestLargeNumbersKept: an integer beyond 2^53 written from the JSON editor
// and rolled back to is stored exactly as typed, not rounded through a
// float64.
func TestLargeNumbersKept(t *testing.T) {
	s := servertest.New(t, servertest.Options{UI: true})
	b := newBrowser(t, s.Addr)
	b.signInToken(s.RootToken)
	code, body := b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"big"}, "cas": {"0"}, "mode": {"json"},
		"json": {`{"n": 9007199254740993}`}})
	b.want(code, body, http.StatusOK, "version 1")
	code, body = b.post("/ui/kv/edit", url.Values{"mount": {"secret"}, "path": {"big"}, "cas": {"1"}, "mode": {"json"}, "json": {`{"n": 1}`}})
	b.want(code, body, http.StatusOK, "version 2")
	code, body = b.post("/ui/kv/rollback", url.Values{"mount": {"secret"}, "path": {"big"}, "version": {"1"}})
	b.want(code, body, http.StatusOK, "version 3 is now a copy of version 1")
	for _, v := range []string{"1", "3"} {
		sec, err := s.Client.Logical().ReadWithData("secret/data/big", map[string][]string{"version": {v}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(sec.Data["data"].(map[string]any)["n"]); got != "9007199254740993" {
			t.Errorf("version %s holds n=%s, want 9007199254740993", v, got)
		}
	}
}
