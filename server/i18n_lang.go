package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/channels/linktoken"
)

// Languages of the public pages.
const (
	langEN = "en"
	langTH = "th"
)

// normLang is the page language a tag or locale names ("th-TH", "en_US"),
// or "" when it names none the pages have.
func normLang(tag string) string {
	switch l := linktoken.Language(tag); l {
	case langEN, langTH:
		return l
	}
	return ""
}

// chooseLang decides a page's language, each source counting only when it
// names a language the pages have: the explicit choice (the link's or the
// form's lang), then the person's locale trait, then the browser's
// Accept-Language, then the configured default, then English.
func chooseLang(explicit, locale, acceptLanguage, def string) string {
	for _, tag := range []string{explicit, locale} {
		if l := normLang(tag); l != "" {
			return l
		}
	}
	if l := acceptedLang(acceptLanguage); l != "" {
		return l
	}
	if l := normLang(def); l != "" {
		return l
	}
	return langEN
}

// acceptedLang is the page language the browser prefers most (by quality;
// q=0 means "not this one"), or "".
func acceptedLang(header string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := normLang(tag); l != "" && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// requestLang is the language a request names: ?lang=, else the posted
// form's lang (the page's language, carried by its forms).
func requestLang(r *http.Request) string {
	if l := r.URL.Query().Get(linktoken.LangParam); normLang(l) != "" {
		return l
	}
	if r.Form != nil {
		return r.Form.Get(linktoken.LangParam)
	}
	return ""
}

// pickLang is the language of a page with no person behind it (the
// console's fallback): the request's choice, else the browser's, else
// English.
func pickLang(r *http.Request) string {
	return chooseLang(requestLang(r), "", r.Header.Get("Accept-Language"), langEN)
}

// pageLang is the language of a preference-centre or unsubscribe page for
// the person whose traits are given (nil when unknown, as on error pages).
func (s *Server) pageLang(r *http.Request, traits map[string]any) string {
	return chooseLang(requestLang(r), linktoken.LocaleOf(traits), r.Header.Get("Accept-Language"), s.cfg.DefaultLang)
}
