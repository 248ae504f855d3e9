package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/segments"
)

const txReceipt = `
name: tx-receipt
purpose: transactional
entry: api
reentry: always
steps:
  - id: receipt
    send: {channel: email, template: receipt}
`

// consoleEnv is a test server with the console configured: the test
// runner, the sample templates and a seed list.
func consoleEnv(t testing.TB) *env {
	t.Helper()
	tpls, err := templates.Load("../testdata/templates")
	require.NoError(t, err)
	return newEnv(t, func(c *Config, o *Options) {
		o.Console = ConsoleConfig{Templates: tpls, SeedList: []string{"seed@example.com"}}
	})
}

// consoleUser is a browser-like client: a cookie jar, no redirects
// followed, and the CSRF token of the last page read.
type consoleUser struct {
	e    *env
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (u *consoleUser) do(method, path string, form url.Values) (int, string, *http.Response) {
	u.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(u.e.ctx, method, u.e.ts.URL+path, body)
	require.NoError(u.e.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(req)
	require.NoError(u.e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(u.e.t, err)
	if m := csrfRE.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp.StatusCode, string(b), resp
}

// post sends a form with the session's CSRF token.
func (u *consoleUser) post(path string, form url.Values) (int, string, *http.Response) {
	u.e.t.Helper()
	form.Set("csrf", u.csrf)
	return u.do(http.MethodPost, path, form)
}

// signIn opens a console session with token.
func signIn(t testing.TB, e *env, token string) *consoleUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u := &consoleUser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	code, _, _ := u.do(http.MethodGet, "/console/signin", nil)
	require.Equal(t, http.StatusOK, code)
	code, body, resp := u.post("/console/signin", url.Values{"token": {token}, "lang": {"en"}})
	require.Equal(t, http.StatusSeeOther, code, body)
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sc = c
		}
	}
	require.NotNil(t, sc)
	require.True(t, sc.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sc.SameSite)
	require.Positive(t, sc.MaxAge)
	code, _, _ = u.do(http.MethodGet, "/console/segments", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, u.csrf)
	return u
}

func TestConsoleSignInAndOut(t *testing.T) {
	e := consoleEnv(t)
	anon := &consoleUser{e: e, c: noRedirect}
	code, _, resp := anon.do(http.MethodGet, "/console/segments", nil)
	require.Equal(t, http.StatusSeeOther, code)
	require.Contains(t, resp.Header.Get("Location"), "/console/signin")

	jar, _ := cookiejar.New(nil)
	bad := &consoleUser{e: e, c: &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}}
	bad.do(http.MethodGet, "/console/signin", nil)
	code, body, _ := bad.post("/console/signin", url.Values{"token": {"not-a-token-at-all-0123456789"}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, "That token is not valid.")
	code, _, _ = bad.post("/console/signin", url.Values{"token": {testWriteKey}})
	require.Equal(t, http.StatusUnauthorized, code, "a write key opens no session")

	u := signIn(t, e, tokMarketer)
	code, _, resp = u.post("/console/signout", url.Values{})
	require.Equal(t, http.StatusSeeOther, code)
	code, _, _ = u.do(http.MethodGet, "/console/segments", nil)
	require.Equal(t, http.StatusSeeOther, code, "the session ended at sign-out")
	_ = resp
}

func TestConsoleSessionExpires(t *testing.T) {
	e := consoleEnv(t)
	u := signIn(t, e, tokRead)
	e.clk.Advance(9 * time.Hour) // past the default 8h without use
	code, _, _ := u.do(http.MethodGet, "/console/segments", nil)
	require.Equal(t, http.StatusSeeOther, code)

	// An active session still ends after 24h.
	u = signIn(t, e, tokRead)
	for i := 0; i < 5; i++ {
		e.clk.Advance(5 * time.Hour)
		code, _, _ = u.do(http.MethodGet, "/console/segments", nil)
		if i < 4 {
			require.Equal(t, http.StatusOK, code, "hour %d", 5*(i+1))
		}
	}
	require.Equal(t, http.StatusSeeOther, code, "25h after sign-in")
}

func TestConsoleCSRF(t *testing.T) {
	e := consoleEnv(t)
	e.person(map[string]any{"user_id": "ada", "plan": "pro"})
	u := signIn(t, e, tokMarketer)
	form := url.Values{"name": {"pros"}, "expr": {`plan == "pro"`}}
	code, body, _ := u.do(http.MethodPost, "/console/segments/save", form)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "did not come from the console")
	form.Set("csrf", "forged")
	code, _, _ = u.do(http.MethodPost, "/console/segments/save", form)
	require.Equal(t, http.StatusForbidden, code)
	code, _, resp := u.post("/console/segments/save", url.Values{"name": {"pros"}, "expr": {`plan == "pro"`}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/console/segments/saved/pros?saved=1", resp.Header.Get("Location"))

	// The sign-in form has its own token (cookie and field must match).
	jar, _ := cookiejar.New(nil)
	v := &consoleUser{e: e, c: &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}}
	code, _, _ = v.do(http.MethodPost, "/console/signin", url.Values{"token": {tokAdmin}})
	require.Equal(t, http.StatusForbidden, code)
}

func TestConsoleSegmentLiveAndSave(t *testing.T) {
	e := consoleEnv(t)
	e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "plan": "pro", "country": "TH"}, "marketing/email")
	e.person(map[string]any{"user_id": "bob", "email": "bob@example.com", "plan": "pro", "country": "TH"})
	e.person(map[string]any{"user_id": "cy", "plan": "free", "country": "TH"})
	u := signIn(t, e, tokMarketer)
	code, body, _ := u.do(http.MethodGet, "/console/segments/live?"+url.Values{"expr": {`plan == "pro"`}, "purpose": {"marketing"}, "channel": {"email"}}.Encode(), nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"count":1`)
	require.Contains(t, body, `"segment":2`)
	require.Contains(t, body, `"no_consent":1`)
	require.Contains(t, body, `"path":"sql"`)
	require.Contains(t, body, `\u003csvg`)

	code, body, _ = u.do(http.MethodGet, "/console/segments/live?"+url.Values{"expr": {`plan == `}}.Encode(), nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"line":1`)
	require.Contains(t, body, `"caret":"plan == \n       ^"`)
	require.Contains(t, body, `"column":`)

	// Without JavaScript: the form re-renders with the count and a sample.
	code, body, _ = u.do(http.MethodGet, "/console/segments?"+url.Values{"expr": {`country == "TH"`}, "purpose": {""}, "channel": {""}, "sample": {"1"}}.Encode(), nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<span id="count">3</span>`)
	require.Contains(t, body, "country")
	require.NotContains(t, body, "ada@example.com", "the sample shows no contact details")
	audit, err := e.store.AuditLog(e.ctx, 0, 0)
	require.NoError(t, err)
	var sampled bool
	for _, a := range audit {
		if strings.Contains(string(a.Details), "console segment sample") && a.Actor == "console:marketer" {
			sampled = true
		}
	}
	require.True(t, sampled, "the sample read is audited")

	code, _, _ = u.post("/console/segments/save", url.Values{"name": {"thai"}, "expr": {`country == "TH"`}})
	require.Equal(t, http.StatusSeeOther, code)
	e.person(map[string]any{"user_id": "dee", "plan": "free", "country": "TH"})
	_, err = segments.Refresh(e.ctx, e.store, "thai")
	require.NoError(t, err)
	code, body, _ = u.do(http.MethodGet, "/console/segments/saved/thai", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<svg class="chart"`)
	require.Contains(t, body, `href="?computation=1"`)
	require.Contains(t, body, `#2: 4`, "the size after the second computation")
	require.Contains(t, body, "entered")
}

func TestConsoleRolesAndMasking(t *testing.T) {
	e := consoleEnv(t)
	id := e.person(map[string]any{"user_id": "ada", "email": "ada@example.com", "phone": "+66812345678", "plan": "pro"}, "marketing/email")
	reader := signIn(t, e, tokRead)
	code, _, _ := reader.post("/console/journeys/publish", url.Values{"yaml": {welcomePro}})
	require.Equal(t, http.StatusForbidden, code, "a read user cannot publish")
	code, _, _ = reader.do(http.MethodGet, "/console/journeys/new", nil)
	require.Equal(t, http.StatusForbidden, code)
	code, _, _ = reader.post("/console/segments/save", url.Values{"name": {"x"}, "expr": {"true"}})
	require.Equal(t, http.StatusForbidden, code)
	path := "/console/people/" + itoa(id)
	code, body, _ := reader.do(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, "ada@example.com")
	require.NotContains(t, body, "+66812345678")
	require.Contains(t, body, "a•••@example.com")
	require.NotContains(t, body, "Privacy actions")
	code, _, _ = reader.post(path+"/privacy", url.Values{"op": {"restrict"}, "confirmed": {"yes"}})
	require.Equal(t, http.StatusForbidden, code)

	marketer := signIn(t, e, tokMarketer)
	_, body, _ = marketer.do(http.MethodGet, path, nil)
	require.NotContains(t, body, "ada@example.com", "masked for marketers too")

	admin := signIn(t, e, tokAdmin)
	_, body, _ = admin.do(http.MethodGet, path, nil)
	require.Contains(t, body, "ada@example.com")
	require.Contains(t, body, "Privacy actions")
	// Privacy actions take a confirmation step.
	code, _, resp := admin.post(path+"/privacy", url.Values{"op": {"restrict"}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Contains(t, resp.Header.Get("Location"), "confirm=restrict")
	p, err := e.store.Profile(e.ctx, id)
	require.NoError(t, err)
	require.False(t, p.Restricted, "nothing happens before confirmation")
	code, _, _ = admin.post(path+"/privacy", url.Values{"op": {"restrict"}, "confirmed": {"yes"}})
	require.Equal(t, http.StatusSeeOther, code)
	p, err = e.store.Profile(e.ctx, id)
	require.NoError(t, err)
	require.True(t, p.Restricted)

	audit, err := e.store.AuditLog(e.ctx, 0, 0)
	require.NoError(t, err)
	reads := map[string]bool{}
	for _, a := range audit {
		if strings.Contains(string(a.Details), "profile show") {
			reads[a.Actor] = true
		}
	}
	require.True(t, reads["console:reader"] && reads["console:marketer"] && reads["console:admin"], "every profile read is audited: %v", reads)
}

func TestConsolePublishJourney(t *testing.T) {
	e := consoleEnv(t)
	m := signIn(t, e, tokMarketer)
	bad := strings.Replace(welcomePro, "channel: email", "channel: pigeon", 1)
	code, body, _ := m.post("/console/journeys/publish", url.Values{"yaml": {bad}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, body, `class="badline"`)
	require.Regexp(t, `line \d+, column \d+`, body)

	code, body, _ = m.post("/console/journeys/publish", url.Values{"yaml": {txReceipt}})
	require.Equal(t, http.StatusForbidden, code, "a marketer cannot publish a transactional journey")
	require.Contains(t, body, "only be published by an admin")
	_, err := e.runner.Get(e.ctx, "tx-receipt")
	require.Error(t, err)

	code, _, resp := m.post("/console/journeys/publish", url.Values{"yaml": {welcomePro}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/console/journeys/welcome-pro?published=1", resp.Header.Get("Location"))
	code, body, _ = m.do(http.MethodGet, "/console/journeys/welcome-pro", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<svg class="graph"`)
	require.Contains(t, body, ">hello<")

	// A second version and the diff between them.
	v2 := strings.Replace(welcomePro, `plan == "pro"`, `plan == "pro" or plan == "team"`, 1)
	code, _, _ = m.post("/console/journeys/publish", url.Values{"yaml": {v2}})
	require.Equal(t, http.StatusSeeOther, code)
	_, body, _ = m.do(http.MethodGet, "/console/journeys/welcome-pro?from=1&to=2", nil)
	require.Contains(t, body, `class="dadd"`)
	require.Contains(t, body, `class="ddel"`)

	code, _, _ = m.post("/console/journeys/welcome-pro/pause", url.Values{})
	require.Equal(t, http.StatusSeeOther, code)
	info, err := e.runner.Get(e.ctx, "welcome-pro")
	require.NoError(t, err)
	require.Equal(t, "paused", info.State)

	admin := signIn(t, e, tokAdmin)
	code, _, _ = admin.post("/console/journeys/publish", url.Values{"yaml": {txReceipt}})
	require.Equal(t, http.StatusSeeOther, code, "an admin may")
}

func TestConsoleCookieSecureBehindTLS(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) { c.PublicURL = "https://tact.example.com" })
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{e: e, c: &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}}
	_, _, resp := u.do(http.MethodGet, "/console/signin", nil)
	pre := resp.Cookies()
	require.Len(t, pre, 1)
	require.True(t, pre[0].Secure && pre[0].HttpOnly)
	// The jar keeps Secure cookies away from plain http; post the pair by hand.
	form := url.Values{"token": {tokRead}, "csrf": {u.csrf}}
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/console/signin", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: preCookie, Value: pre[0].Value})
	resp, err = noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			require.True(t, c.Secure, "the session cookie is Secure behind TLS")
			require.Equal(t, "/console", c.Path)
			return
		}
	}
	t.Fatal("no session cookie")
}
