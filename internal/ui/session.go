package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// cookieName is the session cookie; it holds a random ID, nothing else.
const cookieName = "tresor_ui"

// Session limits. A session without a token (a visitor who has not signed
// in) is cheap and goes first when the table is full.
const (
	idleTimeout = 30 * time.Minute
	maxLifetime = 12 * time.Hour
	maxSessions = 10000
)

// session is one browser's state. Its token is the Vault token the UI
// acts with; it is never written anywhere but this struct.
type session struct {
	id    string
	csrf  string
	token string
	name  string // display name of the signed-in identity
	// canLookup: the token may look itself up, so a 403 can be told apart
	// from a token that no longer works.
	canLookup bool
	flash     string // a one-shot notice shown on the next page
	created   time.Time
	seen      time.Time
}

// sessions is the in-memory session table.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

func newSessions() *sessions {
	return &sessions{m: map[string]*session{}, now: time.Now}
}

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("ui: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the session of r, creating one (and setting its cookie) when
// r has none or an expired one. The returned session is a copy; use update
// to change it.
func (s *sessions) get(w http.ResponseWriter, r *http.Request) session {
	now := s.now()
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		sess, ok := s.m[c.Value]
		if ok && now.Sub(sess.seen) < idleTimeout && now.Sub(sess.created) < maxLifetime {
			sess.seen = now
			out := *sess
			s.mu.Unlock()
			return out
		}
		if ok {
			delete(s.m, c.Value)
		}
		s.mu.Unlock()
	}
	return s.create(w, r, session{})
}

// create starts a new session carrying the fields of from (a fresh ID and
// CSRF token), sets its cookie and returns it.
func (s *sessions) create(w http.ResponseWriter, r *http.Request, from session) session {
	now := s.now()
	sess := &session{id: randomID(), csrf: randomID(), token: from.token, name: from.name, canLookup: from.canLookup,
		flash: from.flash, created: now, seen: now}
	s.mu.Lock()
	if len(s.m) >= maxSessions {
		s.evictLocked(now)
	}
	s.m[sess.id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.id, Path: "/ui/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxLifetime / time.Second),
	})
	return *sess
}

// evictLocked makes room: expired sessions first, then anonymous ones,
// then the least recently seen.
func (s *sessions) evictLocked(now time.Time) {
	for id, sess := range s.m {
		if now.Sub(sess.seen) >= idleTimeout || now.Sub(sess.created) >= maxLifetime {
			delete(s.m, id)
		}
	}
	if len(s.m) < maxSessions {
		return
	}
	for id, sess := range s.m {
		if sess.token == "" {
			delete(s.m, id)
			if len(s.m) < maxSessions*9/10 {
				return
			}
		}
	}
	var oldest *session
	for _, sess := range s.m {
		if oldest == nil || sess.seen.Before(oldest.seen) {
			oldest = sess
		}
	}
	if oldest != nil {
		delete(s.m, oldest.id)
	}
}

// update applies f to the stored session with id, if it still exists.
func (s *sessions) update(id string, f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.m[id]; ok {
		f(sess)
	}
}

// signIn replaces the session with a new one (a new ID, so a session ID
// planted before sign-in is worthless) holding the token and name of with.
func (s *sessions) signIn(w http.ResponseWriter, r *http.Request, old, with session) session {
	s.drop(old.id)
	return s.create(w, r, session{token: with.token, name: with.name, canLookup: with.canLookup})
}

// drop forgets a session.
func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// takeFlash returns and clears the session's notice.
func (s *sessions) takeFlash(id string) string {
	var msg string
	s.update(id, func(sess *session) { msg, sess.flash = sess.flash, "" })
	return msg
}

// validCSRF reports whether the form's CSRF token is the session's.
func validCSRF(sess session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(got)) == 1
}
