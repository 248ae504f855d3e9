package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

func (s *Server) unsubText(lang, key string, c linktoken.Claims) string {
	label, _ := purposeText(lang, consent.Purpose{Name: c.Purpose})
	return fmt.Sprintf(T(lang, key), strings.ToLower(label), strings.ToLower(T(lang, "ch."+c.Channel)))
}

func (s *Server) prefsHref(c linktoken.Claims, lang string) string {
	if s.signer == nil {
		return ""
	}
	tok, err := s.signer.Issue(c.ProfileID, c.Purpose, c.Channel)
	if err != nil {
		return ""
	}
	return "/preferences?" + url.Values{"token": {tok}, "lang": {lang}}.Encode()
}

// handleUnsubscribePage shows a confirmation; it changes nothing (link
// scanners and prefetchers issue GETs).
func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	c, ok := s.verifyLink(w, r, tok, true)
	if !ok {
		return
	}
	// An erased person still gets the page (nothing to withdraw, the
	// outcome holds), without a preference link or a locale.
	p, err := s.store.Profile(r.Context(), c.ProfileID)
	lang := s.pageLang(r, p.Traits)
	d := pageData{Lang: lang, Title: s.pageTitle(lang, "unsub_title"), Message: s.unsubText(lang, "unsub_confirm", c),
		Action: "/unsubscribe?" + url.Values{"token": {tok}, "lang": {lang}}.Encode(),
		Langs:  langLinks(lang, "/unsubscribe", url.Values{"token": {tok}})}
	if err == nil {
		d.PrefsHref = s.prefsHref(c, lang)
	}
	s.render(w, http.StatusOK, "unsubscribe", d)
}

// handleUnsubscribePost records the withdrawal: no cookie, no login, no
// redirect; 200 on success. Mailbox providers post
// "List-Unsubscribe=One-Click" (urlencoded or multipart).
func (s *Server) handleUnsubscribePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var err error
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/form-data") {
		err = r.ParseMultipartForm(64 << 10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		s.writeError(w, r, badRequest("List-Unsubscribe", "cannot parse the form body"))
		return
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		s.writeError(w, r, badRequest("List-Unsubscribe", `body must be "List-Unsubscribe=One-Click" (RFC 8058)`))
		return
	}
	tok := r.URL.Query().Get("token")
	c, ok := s.verifyLink(w, r, tok, false)
	if !ok {
		return
	}
	ctx := r.Context()
	now := s.clock.Now()
	changed := false
	p, err := s.store.Profile(ctx, c.ProfileID)
	if err == nil {
		d, err := s.store.EvaluateConsent(ctx, c.ProfileID, c.Purpose, c.Channel, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if d.Granted || d.Entry == nil || d.Entry.Status != consent.Withdrawn {
			err := s.store.RecordConsent(ctx, engine.ConsentInput{ProfileID: c.ProfileID, Purpose: c.Purpose, Channel: c.Channel,
				Status: consent.Withdrawn, EffectiveAt: now, Source: "one_click_unsubscribe", Actor: "person"})
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			changed = true
			s.metrics.consentChanges.WithLabelValues("one_click_unsubscribe", "withdrawn").Inc()
		}
	} else if !errors.Is(err, engine.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	// An erased person has nothing left to withdraw: the outcome they
	// asked for already holds.
	s.log.Info("one-click unsubscribe", "changed", changed)
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		lang := s.pageLang(r, p.Traits)
		s.render(w, http.StatusOK, "unsubscribe", pageData{Lang: lang, Title: s.pageTitle(lang, "unsub_title"), Done: true,
			Message: s.unsubText(lang, "unsub_done", c), PrefsHref: s.prefsHref(c, lang),
			Langs: langLinks(lang, "/unsubscribe", url.Values{"token": {tok}})})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unsubscribed": true, "purpose": c.Purpose, "channel": c.Channel})
}

// --- data download with a confirmation code
