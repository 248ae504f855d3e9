package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
)

//go:embed web/templates/*.html web/assets/*
var webFS embed.FS

type pages struct {
	byName map[string]*template.Template
}

func loadPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"preferences", "unsubscribe", "error"} {
		t, err := template.New(name).ParseFS(webFS, "web/templates/layout.html", "web/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("server: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

func (s *Server) assetHandler() http.Handler {
	sub, _ := fs.Sub(webFS, "web")
	fsrv := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// pageData feeds the page templates.
type pageData struct {
	Lang string
	// Brand is server.brand_name ("" shows none); Title names it when set.
	Brand  string
	Title  string
	Langs  []langLink
	Token  string
	Notice string

	Purposes    []purposeView
	CanDownload bool
	CodeSent    bool
	CodeError   bool

	Done      bool
	Message   string
	Action    string
	PrefsHref string
}

// T translates key into the page's language.
func (p pageData) T(key string) string { return T(p.Lang, key) }

type langLink struct {
	Code, Name, Href string
	Current          bool
}

type purposeView struct {
	Name, Label, Description string
	Choices                  []choiceView
}

type choiceView struct {
	ID, Field, Legend string
	Purpose, Channel  string
	Granted           bool
}

func langLinks(current, path string, q url.Values) []langLink {
	var out []langLink
	for _, l := range []struct{ code, name string }{{langEN, "English"}, {langTH, "ไทย"}} {
		v := url.Values{}
		for k, vs := range q {
			if k != "lang" && k != "saved" {
				v[k] = vs
			}
		}
		v.Set("lang", l.code)
		out = append(out, langLink{Code: l.code, Name: l.name, Href: path + "?" + v.Encode(), Current: l.code == current})
	}
	return out
}

// pageTitle is the title under key, naming the brand when one is
// configured (key+"_brand" takes it as %s).
func (s *Server) pageTitle(lang, key string) string {
	if s.cfg.BrandName == "" {
		return T(lang, key)
	}
	return fmt.Sprintf(T(lang, key+"_brand"), s.cfg.BrandName)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Brand = s.cfg.BrandName
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("template failed", "page", name, "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Language", d.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	lang := s.pageLang(r, nil)
	s.render(w, status, "error", pageData{Lang: lang, Title: T(lang, "error_title"), Message: T(lang, msgKey),
		Langs: langLinks(lang, r.URL.Path, r.URL.Query())})
}
