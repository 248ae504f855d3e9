package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/eligibility"
)

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
