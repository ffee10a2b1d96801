package ui

import (
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"/a/b/", "a/b/", true},
		{"a/b", "a/b", true},
		{"a//b", "", false},
		{"a/../b", "", false},
		{"./a", "", false},
		{"a/%2e%2e", "", false},
		{"a?x=1", "", false},
		{`a\b`, "", false},
	}
	for _, tt := range tests {
		got, ok := cleanPath(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSessions(t *testing.T) {
	s := newSessions()
	now := time.Unix(1_000_000, 0)
	s.now = func() time.Time { return now }
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/ui/", nil)
	first := s.get(w, r)
	cookie := w.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.Secure || cookie.Path != "/ui/" {
		t.Errorf("cookie = %+v", cookie)
	}
	r.AddCookie(cookie)
	if again := s.get(httptest.NewRecorder(), r); again.id != first.id || again.csrf != first.csrf {
		t.Error("a second request got another session")
	}
	signed := s.signIn(httptest.NewRecorder(), r, first, session{token: "tok", name: "ana"})
	if signed.id == first.id || signed.csrf == first.csrf {
		t.Error("sign-in kept the session ID or CSRF token")
	}
	if s.get(httptest.NewRecorder(), r).id == first.id {
		t.Error("the pre-sign-in session survived")
	}
	if !validCSRF(signed, signed.csrf) || validCSRF(signed, first.csrf) || validCSRF(signed, "") {
		t.Error("validCSRF")
	}
	// Idle sessions expire.
	r2 := httptest.NewRequest("GET", "/ui/", nil)
	w2 := httptest.NewRecorder()
	sess := s.get(w2, r2)
	r2.AddCookie(w2.Result().Cookies()[0])
	now = now.Add(idleTimeout + time.Second)
	if s.get(httptest.NewRecorder(), r2).id == sess.id {
		t.Error("idle session still valid")
	}
	// The table is bounded; anonymous sessions go first.
	s2 := newSessions()
	s2.now = s.now
	keep := s2.create(httptest.NewRecorder(), r, session{token: "t"})
	for range maxSessions + 10 {
		s2.create(httptest.NewRecorder(), r, session{})
	}
	if len(s2.m) > maxSessions {
		t.Errorf("%d sessions, max %d", len(s2.m), maxSessions)
	}
	if _, ok := s2.m[keep.id]; !ok {
		t.Error("a signed-in session was evicted before anonymous ones")
	}
}

// TestTemplatesHaveNoInlineCode: the CSP forbids inline script and style,
// so no template may carry any (they would silently not work).
func TestTemplatesHaveNoInlineCode(t *testing.T) {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	inline := regexp.MustCompile(`(?i)<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, e := range entries {
		raw, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if m := inline.Find(raw); m != nil {
			t.Errorf("%s has inline code: %q", e.Name(), m)
		}
	}
}

// TestTemplatesParse: templates are parsed at the first page served, so a
// broken one must fail here rather than on a user's first visit.
func TestTemplatesParse(t *testing.T) {
	if got := parsePages(); len(got) == 0 {
		t.Fatal("no page templates")
	}
}
