package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Console sessions: a role token is exchanged once for a random session
// id held server-side; the cookie carries only that id. Each session has
// its own CSRF token, checked on every POST.

const (
	sessionCookie = "tact_console"
	preCookie     = "tact_console_pre" // CSRF for the sign-in form itself
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// session is one signed-in console user.
type session struct {
	id      string
	p       principal
	csrf    string
	lang    string
	expires time.Time
	// ends is the absolute end of the session, however active it is.
	ends time.Time
}

// sessionStore keeps sessions in memory; they end at sign-out, after TTL
// without use, or when the process restarts.
type sessionStore struct {
	ttl, maxAge time.Duration
	mu          sync.Mutex
	m           map[string]*session
}

func newSessionStore(ttl, maxAge time.Duration) *sessionStore {
	return &sessionStore{ttl: ttl, maxAge: maxAge, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (st *sessionStore) open(p principal, lang string, now time.Time) session {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, se := range st.m { // sweep expired sessions
		if now.After(se.expires) {
			delete(st.m, id)
		}
	}
	se := &session{id: randomToken(), p: p, csrf: randomToken(), lang: lang, expires: now.Add(st.ttl), ends: now.Add(st.maxAge)}
	st.m[se.id] = se
	return *se
}

// get returns a live session and extends it (sliding expiry).
func (st *sessionStore) get(id string, now time.Time) (session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	se, ok := st.m[id]
	if !ok {
		return session{}, false
	}
	if now.After(se.expires) || now.After(se.ends) {
		delete(st.m, id)
		return session{}, false
	}
	se.expires = now.Add(st.ttl)
	return *se, true
}

func (st *sessionStore) setLang(id, lang string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if se, ok := st.m[id]; ok {
		se.lang = lang
	}
}

func (st *sessionStore) close(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

type sessionKey struct{}

// sessionOf is the request's console session, nil before sign-in.
func sessionOf(r *http.Request) *session {
	se, _ := r.Context().Value(sessionKey{}).(*session)
	return se
}

// consoleActor names the console user in the audit log and ledger.
func consoleActor(r *http.Request) string {
	if se := sessionOf(r); se != nil {
		return "console:" + se.p.name
	}
	return "console"
}

// secureCookies: cookies carry Secure when the request came over TLS or
// the server's public URL is HTTPS (TLS ends at a proxy).
func (c *console) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(c.s.cfg.PublicURL, "https://")
}

func (c *console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: consolePrefix, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secureCookies(r), SameSite: http.SameSiteStrictMode})
}

// need wraps a console handler: a live session whose role allows need,
// and on POST a valid CSRF token (form field or header). Without a session
// a GET goes to the sign-in page; anything else is 401.
func (c *console) need(role Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		var se session
		ok := false
		if err == nil {
			se, ok = c.sessions.get(ck.Value, c.s.clock.Now())
		}
		if !ok {
			if r.Method == http.MethodGet && !wantsJSON(r) {
				redirect(w, r, consolePrefix+"/signin", map[string][]string{"next": {r.URL.RequestURI()}})
				return
			}
			c.fail(w, r, http.StatusUnauthorized, "c.err_signin")
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, &se)
		ctx = context.WithValue(ctx, principalKey, se.p)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, c.s.adminLimit)
			_ = r.ParseForm()
			tok := r.Header.Get(csrfHeader)
			if tok == "" {
				tok = r.PostForm.Get(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(se.csrf)) != 1 {
				c.fail(w, r, http.StatusForbidden, "c.err_csrf")
				return
			}
		}
		if !se.p.role.allows(role) {
			c.fail(w, r, http.StatusForbidden, "c.err_role")
			return
		}
		h(w, r)
	}
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

type signinData struct {
	Next string
	Pre  string
}

func (c *console) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	pre := randomToken()
	c.setCookie(w, r, preCookie, pre, 600)
	v := c.newView(r, "", "c.signin")
	v.Notice = noticeFrom(v.Lang, r.URL.Query())
	v.Data = signinData{Next: safeNext(r.URL.Query().Get("next")), Pre: pre}
	c.render(w, http.StatusOK, "signin", v)
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, consolePrefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return consolePrefix + "/"
	}
	return next
}

func (c *console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	pre, err := r.Cookie(preCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(pre.Value), []byte(r.PostForm.Get(csrfField))) != 1 {
		c.fail(w, r, http.StatusForbidden, "c.err_csrf")
		return
	}
	p, ok := c.s.lookupToken(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok || p.role.rank() == 0 {
		c.s.log.Info("console sign-in refused")
		newPre := randomToken()
		c.setCookie(w, r, preCookie, newPre, 600)
		v := c.newView(r, "", "c.signin")
		v.Error = T(v.Lang, "c.err_token")
		v.Data = signinData{Next: safeNext(r.PostForm.Get("next")), Pre: newPre}
		c.render(w, http.StatusUnauthorized, "signin", v)
		return
	}
	se := c.sessions.open(p, normLang(r.PostForm.Get("lang")), c.s.clock.Now())
	c.setCookie(w, r, preCookie, "", -1)
	c.setCookie(w, r, sessionCookie, se.id, int(c.cfg.SessionTTL/time.Second))
	_ = c.s.store.RecordAudit(r.Context(), "console:"+p.name, "console.signin", "console", map[string]any{"role": string(p.role)})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	se := sessionOf(r)
	c.sessions.close(se.id)
	c.setCookie(w, r, sessionCookie, "", -1)
	_ = c.s.store.RecordAudit(r.Context(), consoleActor(r), "console.signout", "console", nil)
	redirect(w, r, consolePrefix+"/signin", map[string][]string{"signedout": {"1"}})
}
