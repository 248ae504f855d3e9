package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/journeys"
)

// The marketer's console (docs/console.md): server-rendered
// pages under /console/ behind a session cookie opened with a role token.

//go:embed web/console/*.html web/console/assets/*
var consoleFS embed.FS

// ConsoleConfig configures the console. The zero value serves it with
// the defaults; Runner is needed for the journey pages.
type ConsoleConfig struct {
	// Disabled turns the console off (its routes answer 404).
	Disabled bool
	// Runner backs the journey pages (list, graph, publish, pause).
	Runner *journeys.Runner
	// SessionTTL is how long a session lasts without activity. Default 8h.
	SessionTTL time.Duration
	// SessionMaxAge ends a session however active it is. Default 24h.
	SessionMaxAge time.Duration
	// SeedList holds the addresses a test send may go to (and no others).
	SeedList []string
	// Templates are the message templates the preview renders (the
	// channels' templates directory).
	Templates *templates.Set
	// Email composes previews exactly as the email channel does (From,
	// headers, List-Unsubscribe). Default: a placeholder sender over
	// Templates and the server's links.
	Email *email.Config
	// Channels send test messages, by channel name; without one a test
	// send on that channel is unavailable.
	Channels map[string]channels.Channel
}

// console holds the console's templates and sessions for one Server.
type console struct {
	s        *Server
	cfg      ConsoleConfig
	pages    map[string]*template.Template
	sessions *sessionStore
	// counting bounds the live counts running at once: typing by many
	// marketers queues here instead of swamping the database.
	counting chan struct{}
}

const consolePrefix = "/console"

func newConsole(s *Server, cfg ConsoleConfig) (*console, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 24 * time.Hour
	}
	if ja, ok := s.journeys.(JourneysAdapter); ok && cfg.Runner == nil {
		cfg.Runner = ja.Runner
	}
	c := &console{s: s, cfg: cfg, pages: map[string]*template.Template{}, sessions: newSessionStore(cfg.SessionTTL, cfg.SessionMaxAge),
		counting: make(chan struct{}, 2)}
	names, err := fs.Glob(consoleFS, "web/console/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "web/console/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(consoleFuncs()).ParseFS(consoleFS, "web/console/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("server: console template %s: %w", base, err)
		}
		c.pages[base] = t
	}
	return c, nil
}

// consoleFuncs are the helpers of the console templates.
func consoleFuncs() template.FuncMap {
	return template.FuncMap{
		"svg":   func(s string) template.HTML { return template.HTML(s) }, // only for SVG built by console_svg.go (escaped there)
		"num":   formatInt,
		"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"add":   func(a, b int) int { return a + b },
		"list":  func(xs ...string) []string { return xs },
		"total": sumCounts,
	}
}

// formatInt writes n with thousands separators.
func formatInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// mountConsole adds the console's routes to mux.
func (s *Server) mountConsole(mux *http.ServeMux) {
	if s.consoleCfg.Disabled {
		return
	}
	c, err := newConsole(s, s.consoleCfg)
	if err != nil {
		s.log.Error("console disabled", "err", err.Error())
		return
	}
	sub, _ := fs.Sub(consoleFS, "web/console/assets")
	assets := http.StripPrefix(consolePrefix+"/assets/", http.FileServer(http.FS(sub)))
	mux.HandleFunc("GET /console/assets/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		assets.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /console/{$}", c.need(RoleRead, c.handleHome))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, consolePrefix+"/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/signin", c.handleSignInPage)
	mux.HandleFunc("POST /console/signin", s.rateLimited("console_signin", s.ipLimit, s.tokLimit, nil, c.handleSignIn))
	mux.HandleFunc("POST /console/signout", c.need(RoleRead, c.handleSignOut))
	mux.HandleFunc("POST /console/lang", c.need(RoleRead, c.handleLang))
	c.mountSegments(mux)
	c.mountJourneys(mux)
	c.mountPeople(mux)
	c.mountPreview(mux)
	c.mountReports(mux)
}

// view is what every console page template receives.
type view struct {
	Lang    string
	Title   string
	Nav     string
	CSRF    string
	User    string
	Role    Role
	Notice  string
	Error   string
	Path    string
	Data    any
	IsAdmin bool
	CanEdit bool
	// inlineStyles lets a sandboxed email preview keep its inline styles.
	inlineStyles bool
}

// T translates key into the page's language.
func (v view) T(key string) string { return T(v.Lang, key) }

// Tf translates key and formats it with args.
func (v view) Tf(key string, args ...any) string { return fmt.Sprintf(T(v.Lang, key), args...) }

// newView starts a page's view for the request's session.
func (c *console) newView(r *http.Request, nav, titleKey string) view {
	lang := c.lang(r)
	v := view{Lang: lang, Nav: nav, Title: T(lang, titleKey), Path: r.URL.Path}
	if se := sessionOf(r); se != nil {
		v.CSRF, v.User, v.Role = se.csrf, se.p.name, se.p.role
		v.IsAdmin = se.p.role.allows(RoleAdmin)
		v.CanEdit = se.p.role.allows(RoleMarketer)
	}
	return v
}

// lang is the session's chosen language, else ?lang=, else the browser's.
func (c *console) lang(r *http.Request) string {
	if l := normLang(r.URL.Query().Get("lang")); l != "" {
		return l
	}
	if se := sessionOf(r); se != nil && se.lang != "" {
		return se.lang
	}
	return pickLang(r)
}

// render writes a console page.
func (c *console) render(w http.ResponseWriter, status int, page string, v view) {
	t, ok := c.pages[page]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.s.log.Error("console template failed", "page", page, "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	consoleHeaders(w, v.inlineStyles)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// consoleHeaders are the security headers of every console response. The
// preview frame is the only framed content: srcdoc in a sandbox without
// scripts, which inherits this policy (inline styles allowed there only).
func consoleHeaders(w http.ResponseWriter, inlineStyles bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	style := "style-src 'self'"
	if inlineStyles {
		style += " 'unsafe-inline'"
	}
	h.Set("Content-Security-Policy", "default-src 'none'; "+style+"; script-src 'self'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
}

// fail renders an error page with a translated message.
func (c *console) fail(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	v := c.newView(r, "", "c.error")
	v.Error = T(v.Lang, msgKey)
	c.render(w, status, "message", v)
}

// pageError is a failure shown to the user as the translated text Key.
type pageError struct{ Key string }

func (e *pageError) Error() string { return "console: " + e.Key }

// redirect sends the browser to a console path after a successful post.
func redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (c *console) handleHome(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, consolePrefix+"/segments", nil)
}

// handleLang stores the user's language choice in the session.
func (c *console) handleLang(w http.ResponseWriter, r *http.Request) {
	se := sessionOf(r)
	if l := normLang(r.PostForm.Get("lang")); l != "" {
		c.sessions.setLang(se.id, l)
	}
	back := r.PostForm.Get("back")
	if !strings.HasPrefix(back, consolePrefix+"/") || strings.HasPrefix(back, "//") {
		back = consolePrefix + "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
