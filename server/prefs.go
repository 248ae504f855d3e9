package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
)

func purposeText(lang string, p consent.Purpose) (string, string) {
	label, desc := T(lang, "p."+p.Name), T(lang, "pd."+p.Name)
	if label == "p."+p.Name {
		label = strings.ReplaceAll(p.Name, "_", " ")
		label = strings.ToUpper(label[:1]) + label[1:]
	}
	if desc == "pd."+p.Name {
		desc = p.Description
	}
	return label, desc
}

// prefsView builds the purposes × channels the person can manage: every
// purpose but transactional, on each channel they have an address for
// (and the link's channel).
func (s *Server) prefsView(ctx context.Context, lang string, c linktoken.Claims) ([]purposeView, map[string]bool, error) {
	ids, err := s.store.Identities(ctx, c.ProfileID)
	if err != nil {
		return nil, nil, err
	}
	has := map[string]bool{c.Channel: true}
	for _, id := range ids {
		for _, ch := range consent.Channels() {
			if kind := eligibility.AddressKind(ch); kind != "" && id.Kind == kind {
				has[ch] = true
			}
		}
	}
	states, err := s.store.ConsentStates(ctx, c.ProfileID, s.clock.Now())
	if err != nil {
		return nil, nil, err
	}
	granted := map[string]bool{}
	for _, st := range states {
		granted[st.Purpose+"."+st.Channel] = st.Granted
	}
	var out []purposeView
	for _, p := range s.store.Policy().Purposes() {
		if p.Name == channels.PurposeTransactional {
			continue
		}
		label, desc := purposeText(lang, p)
		pv := purposeView{Name: p.Name, Label: label, Description: desc}
		for _, ch := range []string{channels.Email, channels.SMS, channels.Push} {
			if !has[ch] {
				continue
			}
			key := p.Name + "." + ch
			pv.Choices = append(pv.Choices, choiceView{ID: "c-" + p.Name + "-" + ch, Field: "c." + key,
				Legend: fmt.Sprintf(T(lang, "legend"), label, T(lang, "ch."+ch)), Purpose: p.Name, Channel: ch, Granted: granted[key]})
		}
		if len(pv.Choices) > 0 {
			out = append(out, pv)
		}
	}
	// The purpose the link came for first.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name == c.Purpose && out[j].Name != c.Purpose })
	return out, granted, nil
}

func (s *Server) prefsPage(w http.ResponseWriter, r *http.Request, status int, c linktoken.Claims, tok, lang string, d pageData) {
	views, _, err := s.prefsView(r.Context(), lang, c)
	if err != nil {
		s.log.Error("preferences failed", "err", errClass(err))
		s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	d.Lang, d.Title, d.Token, d.Purposes = lang, s.pageTitle(lang, "title"), tok, views
	d.Langs = langLinks(lang, "/preferences", url.Values{"token": {tok}})
	_, _, d.CanDownload = s.codeAddress(r.Context(), c.ProfileID)
	s.render(w, status, "preferences", d)
}

// profileOf reads the link's person (their locale trait chooses the page's
// language), answering the request itself when they no longer exist.
func (s *Server) profileOf(w http.ResponseWriter, r *http.Request, c linktoken.Claims) (engine.Profile, bool) {
	p, err := s.store.Profile(r.Context(), c.ProfileID)
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			s.renderError(w, r, http.StatusGone, "error_gone")
		} else {
			s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		}
		return p, false
	}
	return p, true
}

func (s *Server) handlePrefsPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	c, ok := s.verifyLink(w, r, tok, true)
	if !ok {
		return
	}
	p, ok := s.profileOf(w, r, c)
	if !ok {
		return
	}
	lang := s.pageLang(r, p.Traits)
	d := pageData{}
	if r.URL.Query().Get("saved") == "1" {
		d.Notice = T(lang, "saved")
	}
	s.prefsPage(w, r, http.StatusOK, c, tok, lang, d)
}

// latestVersion is the notice version a grant made now is given under.
func (s *Server) latestVersion(purpose string) string {
	for _, p := range s.store.Policy().Purposes() {
		if p.Name == purpose && len(p.Versions) > 0 {
			return p.Versions[len(p.Versions)-1].Version
		}
	}
	return ""
}

// linkForm starts every preference-centre form post: it parses the form,
// verifies the signed link token it carries and checks the person still
// exists, answering the request itself when any of that fails.
func (s *Server) linkForm(w http.ResponseWriter, r *http.Request) (c linktoken.Claims, tok, lang string, ok bool) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "error_generic")
		return c, "", "", false
	}
	tok = r.PostForm.Get("token")
	if c, ok = s.verifyLink(w, r, tok, true); !ok {
		return c, "", "", false
	}
	p, ok := s.profileOf(w, r, c)
	if !ok {
		return c, "", "", false
	}
	return c, tok, s.pageLang(r, p.Traits), true
}

func (s *Server) handlePrefsSave(w http.ResponseWriter, r *http.Request) {
	c, tok, lang, ok := s.linkForm(w, r)
	if !ok {
		return
	}
	views, _, err := s.prefsView(r.Context(), lang, c)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	action := r.PostForm.Get("action")
	if action != "save" && action != "withdraw_all" {
		s.renderError(w, r, http.StatusBadRequest, "error_generic")
		return
	}
	now := s.clock.Now()
	var ins []engine.ConsentInput
	if action == "withdraw_all" {
		// "Stop all marketing" is one withdraw-all entry (*/*): every
		// purpose but transactional, on every channel, including channels
		// the person has no address for yet.
		views = nil
		ins = append(ins, engine.ConsentInput{ProfileID: c.ProfileID, Purpose: consent.Wildcard, Channel: consent.Wildcard,
			Status: consent.Withdrawn, EffectiveAt: now, Source: "preference_centre", Actor: "person"})
	}
	for _, pv := range views {
		for _, ch := range pv.Choices {
			want := r.PostForm.Get(ch.Field)
			var st consent.Status
			switch {
			case want == string(consent.Granted) && !ch.Granted:
				st = consent.Granted
			case want == string(consent.Withdrawn) && ch.Granted:
				st = consent.Withdrawn
			case want == "" || want == string(consent.Granted) || want == string(consent.Withdrawn):
				continue
			default:
				s.renderError(w, r, http.StatusBadRequest, "error_generic")
				return
			}
			in := engine.ConsentInput{ProfileID: c.ProfileID, Purpose: ch.Purpose, Channel: ch.Channel, Status: st,
				EffectiveAt: now, Source: "preference_centre", Actor: "person"}
			if st == consent.Granted {
				in.NoticeVersion = s.latestVersion(ch.Purpose)
			}
			ins = append(ins, in)
		}
	}
	if len(ins) > 0 {
		if err := s.store.RecordConsents(r.Context(), ins); err != nil {
			s.log.Error("preference change failed", "err", errClass(err))
			s.renderError(w, r, http.StatusInternalServerError, "error_generic")
			return
		}
		for _, in := range ins {
			s.metrics.consentChanges.WithLabelValues("preference_centre", string(in.Status)).Inc()
		}
	}
	s.log.Info("preferences saved", "changes", len(ins), "action", action)
	// Post/redirect/get: reloading the page does not post again.
	http.Redirect(w, r, "/preferences?"+url.Values{"token": {tok}, "lang": {lang}, "saved": {"1"}}.Encode(), http.StatusSeeOther)
}

// --- one-click unsubscribe (RFC 8058)
