package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

func (s *Server) handleConsentShow(w http.ResponseWriter, r *http.Request) {
	id, ok := s.profileParam(w, r)
	if !ok {
		return
	}
	at := s.clock.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeError(w, r, badRequest("at", "want an RFC 3339 time"))
			return
		}
		at = t
	}
	states, err := s.store.ConsentStates(r.Context(), id, at)
	if err == nil {
		err = s.store.RecordAccess(r.Context(), engine.DataAccess{Actor: actor(r), What: "consent show", ProfileID: id, Rows: int64(len(states))})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile_id": id, "at": at.UTC(), "consents": nonNil(states)})
}

func (s *Server) handleConsentHistory(w http.ResponseWriter, r *http.Request) {
	id, ok := s.profileParam(w, r)
	if !ok {
		return
	}
	entries, err := s.store.ConsentLedger(r.Context(), id)
	if err == nil {
		err = s.store.RecordAccess(r.Context(), engine.DataAccess{Actor: actor(r), What: "consent history", ProfileID: id, Rows: int64(len(entries))})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile_id": id, "entries": nonNil(entries)})
}

type consentSetRequest struct {
	User        string `json:"user"`
	Purpose     string `json:"purpose"`
	Channel     string `json:"channel"`
	Status      string `json:"status"`
	Version     string `json:"version"`
	EffectiveAt string `json:"effective_at"`
	ExpiresAt   string `json:"expires_at"`
	Source      string `json:"source"`
}

func optTime(field, v string) (time.Time, *apiError) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest(field, "want an RFC 3339 time")
	}
	return t, nil
}

func (s *Server) handleConsentSet(w http.ResponseWriter, r *http.Request) {
	var req consentSetRequest
	if !s.decode(w, r, &req) {
		return
	}
	// No purpose or no channel on a withdrawal or denial is a withdraw-all;
	// the store refuses it on a grant, naming the field.
	for _, f := range []struct{ name, v string }{{"user", req.User}, {"status", req.Status}} {
		if strings.TrimSpace(f.v) == "" {
			s.writeError(w, r, badRequest(f.name, "required"))
			return
		}
	}
	eff, aerr := optTime("effective_at", req.EffectiveAt)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	exp, aerr := optTime("expires_at", req.ExpiresAt)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	id, err := s.store.ResolveUser(r.Context(), req.User)
	if err != nil {
		s.writeError(w, r, fieldNotFound("user", err))
		return
	}
	src := "api"
	if req.Source != "" {
		src = "api:" + req.Source
	}
	in := engine.ConsentInput{ProfileID: id, Purpose: req.Purpose, Channel: req.Channel, Status: consent.Status(strings.ToLower(req.Status)),
		EffectiveAt: eff, ExpiresAt: exp, NoticeVersion: req.Version, Source: src, Actor: actor(r)}
	if err := s.store.RecordConsent(r.Context(), in); err != nil {
		s.writeError(w, r, stripIndex(err))
		return
	}
	s.metrics.consentChanges.WithLabelValues("api", string(in.Status)).Inc()
	states, err := s.store.ConsentStates(r.Context(), id, s.clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile_id": id, "consents": states})
}

// stripIndex turns "consents[0].purpose" into "purpose" for one-entry calls.
func stripIndex(err error) error {
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return badRequest(strings.TrimPrefix(ve.Field, "consents[0]."), "%s", ve.Msg)
	}
	return err
}

func fieldNotFound(field string, err error) error {
	if errors.Is(err, engine.ErrNotFound) {
		return errf(http.StatusNotFound, "not_found", field, "no profile matches the given %s", field)
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return badRequest(field, "%s", ve.Msg)
	}
	return err
}

// --- segments
