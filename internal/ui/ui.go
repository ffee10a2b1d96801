package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// maxFormSize bounds the body of a form the UI accepts.
const maxFormSize = 1 << 20

// csp allows nothing but the UI's own script, style and images.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configure the UI.
type Options struct {
	// Logger receives errors the UI could not show the user; it never
	// receives tokens, secret values or form contents.
	Logger *slog.Logger
}

// UI is the web UI's HTTP handler, to be mounted at /ui/.
type UI struct {
	api http.Handler
	// base is the API client every session's client is cloned from, made
	// at the first request that needs one: the Vault client's default
	// configuration (transport, HTTP/2, environment) is not start-up's
	// business.
	base     func() (*api.Client, error)
	logger   *slog.Logger
	sessions *sessions
	mux      *http.ServeMux
}

// New returns the UI, which reaches the /v1 API through apiHandler in
// process.
func New(apiHandler http.Handler, opts Options) *UI {
	u := &UI{api: apiHandler, logger: opts.Logger, sessions: newSessions()}
	if u.logger == nil {
		u.logger = slog.New(slog.DiscardHandler)
	}
	cfg := &api.Config{
		Address:    "http://tresor.ui.internal",
		HttpClient: &http.Client{Transport: handlerTransport{apiHandler}, Timeout: 60 * time.Second},
		MaxRetries: 0,
	}
	u.base = sync.OnceValues(func() (*api.Client, error) {
		c, err := api.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		c.ClearToken()
		c.ClearNamespace()
		return c, nil
	})
	u.routes()
	return u
}

// pages are parsed at the first page served, not at start-up: parsing every
// template cost a dev server about as much as all package initialisation.
var pages = sync.OnceValue(parsePages)

func parsePages() map[string]*template.Template {
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", e))
	}
	return pages
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusFound)
		return
	}
	u.mux.ServeHTTP(w, r)
}

// handlerTransport sends the API client's requests to the API handler in
// process.
type handlerTransport struct{ h http.Handler }

type remoteAddrKey struct{}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if a, ok := req.Context().Value(remoteAddrKey{}).(string); ok {
		in.RemoteAddr = a
	}
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, in)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", rec.code, http.StatusText(rec.code)), StatusCode: rec.code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder is a minimal http.ResponseWriter that keeps the answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// rc is one UI request in progress.
type rc struct {
	u      *UI
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	sess   session
	client *api.Client
	// path and op name the API request a page was making, for the "not
	// permitted" page's link to "why".
	path, op string
}

// handler kinds.
const (
	public = iota // no token needed (init, unseal, sign in)
	signed        // needs a signed-in session
)

// handle wraps a page: session, CSRF on POST, an API client with the
// session's token, and the rendering of errors.
func (u *UI) handle(kind int, fn func(*rc) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := u.sessions.get(w, r)
		c := &rc{u: u, w: w, r: r, sess: sess, ctx: context.WithValue(r.Context(), remoteAddrKey{}, r.RemoteAddr)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
			if err := r.ParseForm(); err != nil {
				c.render(http.StatusBadRequest, "error", "Bad request", errorPage{Messages: []string{"The form could not be read."}})
				return
			}
			if !validCSRF(sess, r.PostFormValue("csrf")) {
				c.render(http.StatusForbidden, "error", "Form expired", errorPage{Messages: []string{
					"This form has expired or did not come from this page. Go back, reload and try again."}})
				return
			}
		}
		base, err := u.base()
		if err != nil {
			u.logger.Error("ui: API client", "error", err)
			c.render(http.StatusInternalServerError, "error", "Unavailable", errorPage{Messages: []string{"The UI could not create its API client; see the server log."}})
			return
		}
		cl, err := base.Clone()
		if err != nil {
			c.fail(err)
			return
		}
		cl.SetToken(sess.token)
		cl.ClearNamespace()
		c.client = cl
		if kind == signed && sess.token == "" {
			c.toLogin()
			return
		}
		if err := fn(c); err != nil {
			c.fail(err)
		}
	})
}

// toLogin sends the browser to sign in, or to unseal or init first.
func (c *rc) toLogin() {
	st, err := c.client.Sys().SealStatusWithContext(c.ctx)
	switch {
	case err == nil && !st.Initialized:
		c.redirect("/ui/init")
	case err == nil && st.Sealed:
		c.redirect("/ui/unseal")
	default:
		c.redirect("/ui/login")
	}
}

func (c *rc) redirect(to string) {
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
}

// done redirects after a successful POST, leaving a notice.
func (c *rc) done(to, flash string) error {
	c.u.sessions.update(c.sess.id, func(s *session) { s.flash = flash })
	c.redirect(to)
	return nil
}

// errorPage is the data of the error and not-permitted pages.
type errorPage struct {
	Messages []string
	Path, Op string
}

// fail renders err: a 403 as "not permitted" (or, if the session's token
// no longer works, a new sign-in), a sealed server as the unseal page,
// anything else with the server's client-safe messages.
func (c *rc) fail(err error) {
	var re *api.ResponseError
	if !errors.As(err, &re) {
		c.u.logger.Error("ui: request failed", "page", c.r.URL.Path, "error", err)
		c.render(http.StatusInternalServerError, "error", "Something went wrong", errorPage{Messages: []string{"The request failed; see the server log."}})
		return
	}
	switch re.StatusCode {
	case http.StatusForbidden:
		if c.sess.token != "" && c.sess.canLookup {
			if _, err := c.client.Auth().Token().LookupSelfWithContext(c.ctx); err != nil {
				c.u.sessions.update(c.sess.id, func(s *session) { s.token, s.name, s.flash = "", "", "Your session has ended; please sign in again." })
				c.redirect("/ui/login")
				return
			}
		}
		c.render(http.StatusForbidden, "notpermitted", "Not permitted", errorPage{Path: c.path, Op: c.op})
	case http.StatusServiceUnavailable:
		if st, err := c.client.Sys().SealStatusWithContext(c.ctx); err == nil && st.Sealed {
			c.redirect("/ui/unseal")
			return
		}
		fallthrough
	default:
		msgs := re.Errors
		if len(msgs) == 0 {
			msgs = []string{http.StatusText(re.StatusCode)}
		}
		code := re.StatusCode
		if code < 400 {
			code = http.StatusBadGateway
		}
		c.render(code, "error", "Error", errorPage{Messages: msgs})
	}
}

// view is what every page's template gets.
type view struct {
	Title    string
	SignedIn bool
	Name     string
	CSRF     string
	Flash    string
	Nav      string
	Page     string
	Data     any
}

// render writes page name with data.
func (c *rc) render(code int, name, title string, data any) {
	t, ok := pages()[name]
	if !ok {
		panic("ui: no page " + name)
	}
	v := view{Title: title, SignedIn: c.sess.token != "", Name: c.sess.name, CSRF: c.sess.csrf, Data: data,
		Flash: c.u.sessions.takeFlash(c.sess.id), Nav: navOf(name), Page: name}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.u.logger.Error("ui: template", "page", name, "error", err)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(code)
	_, _ = c.w.Write(buf.Bytes())
}

func (c *rc) ok(name, title string, data any) error {
	c.render(http.StatusOK, name, title, data)
	return nil
}

func navOf(page string) string {
	switch {
	case strings.HasPrefix(page, "kv"), page == "mounts-list":
		return "secrets"
	case strings.HasPrefix(page, "policy"), page == "why", page == "authmethods", page == "token":
		return "access"
	case strings.HasPrefix(page, "ops"):
		return "ops"
	}
	return ""
}

// form returns a trimmed form value.
func (c *rc) form(name string) string { return strings.TrimSpace(c.r.FormValue(name)) }

var funcs = template.FuncMap{
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"q":    url.QueryEscape,
}

func (u *UI) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.Handle("GET /ui/{$}", u.handle(public, (*rc).home))
	m.Handle("/ui/init", u.handle(public, (*rc).initPage))
	m.Handle("/ui/unseal", u.handle(public, (*rc).unsealPage))
	m.Handle("/ui/login", u.handle(public, (*rc).loginPage))
	m.Handle("POST /ui/logout", u.handle(public, (*rc).logout))

	m.Handle("GET /ui/secrets", u.handle(signed, (*rc).mountsList))
	m.Handle("GET /ui/kv", u.handle(signed, (*rc).kvBrowse))
	m.Handle("GET /ui/kv/search", u.handle(signed, (*rc).kvSearch))
	m.Handle("/ui/kv/edit", u.handle(signed, (*rc).kvEdit))
	m.Handle("GET /ui/kv/history", u.handle(signed, (*rc).kvHistory))
	m.Handle("GET /ui/kv/diff", u.handle(signed, (*rc).kvDiff))
	m.Handle("POST /ui/kv/rollback", u.handle(signed, (*rc).kvRollback))
	m.Handle("POST /ui/kv/versions", u.handle(signed, (*rc).kvVersions))
	m.Handle("/ui/kv/metadata", u.handle(signed, (*rc).kvMetadata))
	m.Handle("/ui/kv/move", u.handle(signed, (*rc).kvMove))

	m.Handle("GET /ui/policies", u.handle(signed, (*rc).policyList))
	m.Handle("/ui/policy", u.handle(signed, (*rc).policyEdit))
	m.Handle("POST /ui/policy/delete", u.handle(signed, (*rc).policyDelete))
	m.Handle("GET /ui/why", u.handle(signed, (*rc).why))
	m.Handle("GET /ui/authmethods", u.handle(signed, (*rc).authMethods))
	m.Handle("/ui/token", u.handle(signed, (*rc).tokenPage))

	m.Handle("/ui/ops/mounts", u.handle(signed, (*rc).opsMounts))
	m.Handle("/ui/ops/audit", u.handle(signed, (*rc).opsAudit))
	m.Handle("/ui/ops/leases", u.handle(signed, (*rc).opsLeases))
	m.Handle("/ui/ops/seal", u.handle(signed, (*rc).opsSeal))
	m.Handle("GET /ui/ops/metrics", u.handle(signed, (*rc).opsMetrics))
	m.Handle("/ui/", u.handle(public, func(c *rc) error {
		c.render(http.StatusNotFound, "error", "Not found", errorPage{Messages: []string{"There is no such page."}})
		return nil
	}))
	u.mux = m
}

// home sends the browser where it should start.
func (c *rc) home() error {
	if c.sess.token == "" {
		c.toLogin()
		return nil
	}
	st, err := c.client.Sys().SealStatusWithContext(c.ctx)
	if err == nil && st.Sealed {
		c.redirect("/ui/unseal")
		return nil
	}
	c.redirect("/ui/secrets")
	return nil
}

// badRequest returns the server's messages when err is its 400 answer: the
// request was refused for what it said, which a page shows to the user.
func badRequest(err error) ([]string, bool) {
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
		return re.Errors, true
	}
	return nil, false
}
