package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
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
	Lang   string
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

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
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
	lang := pickLang(r)
	s.render(w, status, "error", pageData{Lang: lang, Title: T(lang, "error_title"), Message: T(lang, msgKey),
		Langs: langLinks(lang, r.URL.Path, r.URL.Query())})
}

// verifyLink checks a link token; on failure it answers and returns false.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request, tok string, html bool) (linktoken.Claims, bool) {
	if len(s.verifiers) == 0 {
		if html {
			s.renderError(w, r, http.StatusNotFound, "error_invalid")
		} else {
			s.writeError(w, r, errNotAvailable("signed links"))
		}
		return linktoken.Claims{}, false
	}
	c, err := s.verify(tok)
	if err == nil && (!s.store.Policy().Known(c.Purpose) || !consent.KnownChannel(c.Channel)) {
		err = linktoken.ErrMalformed
	}
	if err != nil {
		status, key, code := http.StatusForbidden, "error_invalid", "invalid_token"
		switch {
		case errors.Is(err, linktoken.ErrExpired):
			status, key, code = http.StatusGone, "error_expired", "expired_token"
		case errors.Is(err, linktoken.ErrMalformed):
			status = http.StatusBadRequest
		}
		s.metrics.ingestRejected.WithLabelValues(code).Inc()
		s.log.Info("link refused", "route", routeOf(r), "reason", code)
		if html {
			s.renderError(w, r, status, key)
		} else {
			s.writeError(w, r, errf(status, code, "token", "%s", T(langEN, key)))
		}
		return linktoken.Claims{}, false
	}
	id, err := s.currentProfile(r.Context(), c.ProfileID)
	if err != nil {
		s.log.Error("merge log lookup failed", "err", errClass(err))
		if html {
			s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		} else {
			s.writeError(w, r, err)
		}
		return linktoken.Claims{}, false
	}
	c.ProfileID = id
	return c, true
}

// currentProfile is the profile a link issued for id acts on: id, or, when
// id was merged away after the link was issued, the survivor the merge log
// leads to. An unknown or erased id stays as it is (the pages say 410).
func (s *Server) currentProfile(ctx context.Context, id int64) (int64, error) {
	if _, err := s.store.Profile(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		return id, err
	}
	return s.store.SurvivorOf(ctx, id)
}

// verify checks tok against every configured signer: the server's keys
// and the channels' (rotation and two sources of links).
func (s *Server) verify(tok string) (linktoken.Claims, error) {
	var first error
	for _, v := range s.verifiers {
		c, err := v.Verify(tok)
		if err == nil {
			return c, nil
		}
		// An expiry or malformation is final; a bad signature may be
		// another signer's token.
		if !errors.Is(err, linktoken.ErrInvalidSignature) {
			return c, err
		}
		if first == nil {
			first = err
		}
	}
	return linktoken.Claims{}, first
}

// addressKinds maps channels to the identity holding their address.
var addressKinds = map[string]string{channels.Email: engine.KindEmail, channels.SMS: engine.KindPhone, channels.Push: engine.KindDeviceToken} //nolint:gochecknoglobals // read-only after initialisation

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
		for ch, kind := range addressKinds {
			if id.Kind == kind {
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
	d.Lang, d.Title, d.Token, d.Purposes = lang, T(lang, "title"), tok, views
	d.Langs = langLinks(lang, "/preferences", url.Values{"token": {tok}})
	_, _, d.CanDownload = s.codeAddress(r.Context(), c.ProfileID)
	s.render(w, status, "preferences", d)
}

// profileOf checks that the link's person still exists.
func (s *Server) profileOf(w http.ResponseWriter, r *http.Request, c linktoken.Claims) bool {
	if _, err := s.store.Profile(r.Context(), c.ProfileID); err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			s.renderError(w, r, http.StatusGone, "error_gone")
		} else {
			s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		}
		return false
	}
	return true
}

func (s *Server) handlePrefsPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	c, ok := s.verifyLink(w, r, tok, true)
	if !ok || !s.profileOf(w, r, c) {
		return
	}
	lang := pickLang(r)
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
	if c, ok = s.verifyLink(w, r, tok, true); !ok || !s.profileOf(w, r, c) {
		return c, "", "", false
	}
	return c, tok, pickLang(r), true
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
	lang := pickLang(r)
	d := pageData{Lang: lang, Title: T(lang, "unsub_title"), Message: s.unsubText(lang, "unsub_confirm", c),
		Action: "/unsubscribe?" + url.Values{"token": {tok}, "lang": {lang}}.Encode(),
		Langs:  langLinks(lang, "/unsubscribe", url.Values{"token": {tok}})}
	if _, err := s.store.Profile(r.Context(), c.ProfileID); err == nil {
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
	if _, err := s.store.Profile(ctx, c.ProfileID); err == nil {
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
		lang := pickLang(r)
		s.render(w, http.StatusOK, "unsubscribe", pageData{Lang: lang, Title: T(lang, "unsub_title"), Done: true,
			Message: s.unsubText(lang, "unsub_done", c), PrefsHref: s.prefsHref(c, lang),
			Langs: langLinks(lang, "/unsubscribe", url.Values{"token": {tok}})})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unsubscribed": true, "purpose": c.Purpose, "channel": c.Channel})
}

// --- data download with a confirmation code

// CodeRecipient is where a confirmation code goes.
type CodeRecipient struct {
	ProfileID int64
	// Channel is "email" or "sms"; Address is normalised.
	Channel, Address string
	// Lang is the page language ("en", "th").
	Lang string
}

// CodeSender delivers a one-time confirmation code to a person.
type CodeSender interface {
	SendCode(ctx context.Context, to CodeRecipient, code string) error
}

// ChannelCodeSender sends codes as transactional messages through a
// channel adapter (the email channel). The template receives the code and
// language in its payload ({{.Payload.code}}, {{.Payload.lang}}).
type ChannelCodeSender struct {
	Channel  channels.Channel
	Template string
	Clock    clock.Clock
}

// SendCode implements CodeSender.
func (c ChannelCodeSender) SendCode(ctx context.Context, to CodeRecipient, code string) error {
	if c.Channel == nil || c.Channel.Name() != to.Channel {
		return fmt.Errorf("no %s channel for codes", to.Channel)
	}
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock.Now()
	}
	msg := channels.Message{
		IdempotencyKey: channels.NewIdempotencyKey("preference-centre-code", 1, code, to.ProfileID, now),
		ProfileID:      to.ProfileID, Journey: "preference-centre", Step: "code",
		Purpose: channels.PurposeTransactional, Transactional: true, To: to.Address, Template: c.Template,
		Payload: map[string]any{"code": code, "lang": to.Lang},
	}
	res := c.Channel.Send(ctx, []channels.Message{msg})
	if len(res) != 1 || res[0].Status != channels.StatusDelivered {
		if len(res) == 1 && res[0].Err != nil {
			return res[0].Err
		}
		return errors.New("code not delivered")
	}
	return nil
}

// codeAddress picks where a person's code goes: their email, else their
// phone (when a sender is configured).
func (s *Server) codeAddress(ctx context.Context, id int64) (string, string, bool) {
	if s.codeSender == nil {
		return "", "", false
	}
	ids, err := s.store.Identities(ctx, id)
	if err != nil {
		return "", "", false
	}
	// A code is a transactional message, decided as every message is
	// (eligibility): no marketing consent needed, but never to a restricted
	// person or a suppressed address (bounced, complained, STOP, erased).
	now := s.clock.Now()
	for _, ch := range []string{channels.Email, channels.SMS} {
		want := eligibility.AddressKind(ch)
		for _, i := range ids {
			if i.Kind != want {
				continue
			}
			req := eligibility.Request{Purpose: consent.Transactional, Channel: ch, At: now}
			if reason, err := s.store.EligibleTo(ctx, req, id, i.Value); err != nil || reason != "" {
				continue
			}
			// Only an address a trusted source (an import, a server key,
			// the admin API) reported: a client write key could have
			// added it to take over someone's data.
			if trusted, err := s.store.TrustedIdentity(ctx, i.Kind, i.Value); err != nil || !trusted {
				continue
			}
			return ch, i.Value, true
		}
	}
	return "", "", false
}

type codeEntry struct {
	hash     [32]byte
	expires  time.Time
	attempts int
}

// codeStore holds pending confirmation codes in memory (hashed), one per
// person; a code is single-use, lives 15 minutes and allows 5 attempts.
type codeStore struct {
	mu    sync.Mutex
	clk   clock.Clock
	codes map[int64]*codeEntry
}

const (
	codeTTL         = 15 * time.Minute
	codeMaxAttempts = 5
)

func newCodeStore(clk clock.Clock) *codeStore {
	return &codeStore{clk: clk, codes: map[int64]*codeEntry{}}
}

func (c *codeStore) issue(id int64) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.codes {
		if now.After(e.expires) {
			delete(c.codes, k)
		}
	}
	c.codes[id] = &codeEntry{hash: sha256.Sum256([]byte(code)), expires: now.Add(codeTTL)}
	return code, nil
}

func (c *codeStore) check(id int64, code string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.codes[id]
	if !ok {
		return false
	}
	if c.clk.Now().After(e.expires) {
		delete(c.codes, id)
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(code)))
	if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
		delete(c.codes, id)
		return true
	}
	e.attempts++
	if e.attempts >= codeMaxAttempts {
		delete(c.codes, id)
	}
	return false
}

func (s *Server) handleExportCode(w http.ResponseWriter, r *http.Request) {
	c, tok, lang, ok := s.linkForm(w, r)
	if !ok {
		return
	}
	ch, addr, ok := s.codeAddress(r.Context(), c.ProfileID)
	if !ok {
		s.prefsPage(w, r, http.StatusOK, c, tok, lang, pageData{})
		return
	}
	code, err := s.codes.issue(c.ProfileID)
	if err == nil {
		err = s.codeSender.SendCode(r.Context(), CodeRecipient{ProfileID: c.ProfileID, Channel: ch, Address: addr, Lang: lang}, code)
	}
	if err != nil {
		s.log.Error("export code not sent", "channel", ch, "err", errClass(err))
		s.renderError(w, r, http.StatusBadGateway, "error_generic")
		return
	}
	s.prefsPage(w, r, http.StatusOK, c, tok, lang, pageData{CodeSent: true})
}

// personIdentifier is an identifier that resolves to exactly profile id.
func (s *Server) personIdentifier(ctx context.Context, id int64) (string, error) {
	ids, err := s.store.Identities(ctx, id)
	if err != nil {
		return "", err
	}
	for _, kind := range engine.IdentityKinds() {
		for _, i := range ids {
			if i.Kind != kind {
				continue
			}
			if got, err := s.store.ResolveUser(ctx, i.Value); err == nil && got == id {
				return i.Value, nil
			}
		}
	}
	return "", &engine.NotFoundError{What: "an identifier of the person"}
}

func (s *Server) handleExportDownload(w http.ResponseWriter, r *http.Request) {
	c, tok, lang, ok := s.linkForm(w, r)
	if !ok {
		return
	}
	if !s.codes.check(c.ProfileID, r.PostForm.Get("code")) {
		s.prefsPage(w, r, http.StatusForbidden, c, tok, lang, pageData{CodeSent: true, CodeError: true})
		return
	}
	ident, err := s.personIdentifier(r.Context(), c.ProfileID)
	var doc any
	if err == nil {
		doc, err = s.privacy.Export(r.Context(), ident, engine.PrivacyOptions{Actor: "person:preference_centre"})
	}
	if err != nil {
		s.log.Error("export failed", "err", errClass(err))
		s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="my-data.json"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
