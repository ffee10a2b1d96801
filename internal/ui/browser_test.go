package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/servertest"
	"github.com/tresorhq/tresor/internal/testenv"
)

// chromium finds Debian's chromium, or ends the test (skip, or fail under
// TRESOR_REQUIRE=chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testenv.Missing(t, "chromium", "chromium is not installed (apt-get install chromium)")
	return ""
}

// screenshotDir is where the browser tests leave their screenshots:
// $TRESOR_UI_SCREENSHOTS if set, else a temp dir removed after the test.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("TRESOR_UI_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// session drives one headless chromium tab.
type session struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string
}

func newSession(t *testing.T, base string) *session {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 820),
	}
	// The whole browser session is bounded.
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	s := &session{t: t, ctx: bctx, base: base, shot: screenshotDir(t)}
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return s
}

// do runs steps, each step bounded, and fails the test with a screenshot.
func (s *session) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		s.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a button that navigates and waits for the next page.
func (s *session) submit(what, sel string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(sel)); err != nil {
		s.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		s.t.Fatalf("%s: %v", what, err)
	}
}

func (s *session) open(path string) {
	s.t.Helper()
	s.do("open "+path, chromedp.Navigate(s.base+path))
}

// text returns the visible text of the main element.
func (s *session) text() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	txt, err := chromedp.Run(ctx, chromedp.Text("main"))
	if err != nil {
		s.t.Fatalf("read page: %v", err)
	}
	return txt
}

func (s *session) want(what string, contains ...string) {
	s.t.Helper()
	txt := s.text()
	for _, c := range contains {
		if !strings.Contains(txt, c) {
			s.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
			s.t.Fatalf("%s: page lacks %q:\n%s", what, c, txt)
		}
	}
}

func (s *session) screenshot(name string) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(s.shot, name+".png"), png, 0o644); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
	}
}

// TestBrowser drives the UI in headless chromium through what an operator
// and a developer do: unseal, sign in, write and change a secret, compare
// and roll back versions, search, meet a denial and ask why, and mistype
// a policy.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	srv := servertest.New(t, servertest.Options{UI: true, Uninitialized: true})
	init, err := srv.Client.Sys().Init(&api.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, srv.Addr)

	// Unseal a sealed server with two of three shares.
	s.open("/ui/")
	s.want("unseal page", "Unseal Tresor", "0 of 2 shares entered")
	s.screenshot("unseal")
	s.do("enter share 1", chromedp.SendKeys("#key", init.KeysB64[0]))
	s.submit("unseal 1", "form.card button[type=submit]")
	s.want("progress", "1 of 2 shares entered")
	s.do("enter share 2", chromedp.SendKeys("#key", init.KeysB64[1]))
	s.submit("unseal 2", "form.card button[type=submit]")
	s.want("unsealed", "Tresor is unsealed.", "Sign in")

	// An operator sets up a user, as the CLI would.
	c := srv.Client
	c.SetToken(init.RootToken)
	if err := c.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("dev", `
path "secret/data/app/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["list", "read"] }
path "secret/data/app/prod" { capabilities = ["deny"] }
path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "list"] }
`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/userpass/users/ana", map[string]any{"password": "correct horse", "policies": "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "app/prod", map[string]any{"dsn": "postgres://prod"}); err != nil {
		t.Fatal(err)
	}

	// Sign in with userpass.
	s.open("/ui/login?method=userpass")
	s.screenshot("login")
	s.do("fill sign-in", chromedp.SendKeys("#username", "ana"), chromedp.SendKeys("#password", "correct horse"))
	s.submit("sign in", "#login-form button[type=submit]")
	s.want("signed in", "Signed in as userpass-ana", "Secrets engines")

	// Create a secret, then edit it.
	s.open("/ui/kv/edit?mount=secret&path=&new=1")
	s.do("fill new secret",
		chromedp.SendKeys("#path", "app/web"),
		chromedp.SendKeys("#key0", "api_key"), chromedp.SendKeys("#value0", "first-value"),
		chromedp.SendKeys("#key1", "region"), chromedp.SendKeys("#value1", "eu"))
	s.submit("save new secret", "#edit-form button[type=submit]")
	s.want("created", "Saved secret/app/web", "version 1", "api_key")
	if strings.Contains(s.text(), "first-value") {
		t.Fatal("value shown before it was revealed")
	}
	s.do("reveal", chromedp.Click("table.secret tr:first-child button[data-reveal]"))
	s.want("revealed", "first-value")
	s.screenshot("secret")

	s.open("/ui/kv/edit?mount=secret&path=app/web")
	s.do("edit value", chromedp.Clear("#value0"), chromedp.SendKeys("#value0", "second-value"))
	s.submit("save edit", "#edit-form button[type=submit]")
	s.want("edited", "version 2")
	s.open("/ui/kv/edit?mount=secret&path=app/web")
	s.do("switch to JSON", chromedp.WaitVisible("#rows"), chromedp.WaitNotVisible("#json"),
		chromedp.Click(`input[name=mode][value=json]`), chromedp.WaitVisible("#json"), chromedp.WaitNotVisible("#rows"))

	// History, diff, rollback.
	s.open("/ui/kv/history?mount=secret&path=app/web")
	s.want("history", "Roll back to 1")
	s.screenshot("history")
	s.do("choose versions", chromedp.SetValue("#a", "1"), chromedp.SetValue("#b", "2"))
	s.submit("compare", "form.card button[type=submit]")
	s.want("diff", "Version 1 → version 2", "1 change", "changed")
	s.screenshot("diff")
	s.submit("roll back", "main > form button[name=version]")
	s.want("rolled back", "version 3 is now a copy of version 1")
	sec, err := c.KVv2("secret").Get(context.Background(), "app/web")
	if err != nil || sec.Data["api_key"] != "first-value" {
		t.Fatalf("after rollback: %+v %v", sec, err)
	}

	// Search finds it.
	s.open("/ui/kv?mount=secret&path=")
	s.do("type search", chromedp.SendKeys("#q", "web"))
	s.submit("search", "form[role=search] button")
	s.want("search", "app/web")
	s.screenshot("search")

	// A denied path renders as not permitted; why names the deny rule.
	s.open("/ui/kv?mount=secret&path=app/prod")
	s.want("denied", "Not permitted", "secret/data/app/prod")
	s.screenshot("not-permitted")
	s.submit("why", "main a.button")
	s.want("why", "Denied", `path "secret/data/app/prod"`, "deny wins")
	s.screenshot("why")

	// A policy with a syntax error shows the error at its line.
	s.open("/ui/policy?new=1")
	s.do("write policy", chromedp.SendKeys("#name", "broken"),
		chromedp.SendKeys("#policy", "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\npath \"x\" {\n  capabilities = [\"fly\"]\n}\n"))
	s.submit("save policy", "form.card button[type=submit]")
	s.do("error line", chromedp.WaitVisible("#error-line"))
	s.want("policy error", "line 5")
	line, err := chromedp.Run(s.ctx, chromedp.Text("#error-line"))
	if err != nil || !strings.Contains(line, "fly") {
		t.Fatalf("marked line = %q, %v", line, err)
	}
	s.screenshot("policy-error")

	// On a phone's width no page scrolls sideways.
	s.do("phone viewport", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/ui/kv?mount=secret&path=app/web", "/ui/kv/history?mount=secret&path=app/web",
		"/ui/why?path=secret/data/app/prod&op=read", "/ui/kv/edit?mount=secret&path=app/web"} {
		s.open(p)
		over, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || over {
			s.screenshot("failed-phone")
			t.Errorf("%s is wider than a phone (%v)", p, err)
		}
	}
	s.screenshot("phone")
}
