package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// readSpec reads a journey spec (YAML or JSON) body.
func (s *Server) readSpec(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(w, r, errf(http.StatusRequestEntityTooLarge, "too_large", "", "request body exceeds %d bytes", mbe.Limit))
		} else {
			s.writeError(w, r, badRequest("", "cannot read the request body"))
		}
		return nil, false
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		s.writeError(w, r, badRequest("", "request body is empty; want a journey spec (YAML)"))
		return nil, false
	}
	return data, true
}

func (s *Server) handleJourneyList(w http.ResponseWriter, r *http.Request) {
	if s.journeys == nil {
		s.writeError(w, r, errNotAvailable("journeys"))
		return
	}
	res, err := s.journeys.List(r.Context())
	s.reply(w, r, res, err)
}

func (s *Server) handleJourneyValidate(w http.ResponseWriter, r *http.Request) {
	spec, ok := s.readSpec(w, r)
	if !ok {
		return
	}
	if s.journeys == nil {
		s.writeError(w, r, errNotAvailable("journeys"))
		return
	}
	res, err := s.journeys.Validate(r.Context(), spec)
	s.reply(w, r, res, err)
}

func (s *Server) handleJourneyPublish(w http.ResponseWriter, r *http.Request) {
	spec, ok := s.readSpec(w, r)
	if !ok {
		return
	}
	if s.journeys == nil {
		s.writeError(w, r, errNotAvailable("journeys"))
		return
	}
	res, err := s.journeys.Publish(r.Context(), spec, actor(r), caller(r).role.allows(RoleAdmin))
	s.reply(w, r, res, err)
}

func (s *Server) journeyName(w http.ResponseWriter, r *http.Request) (string, bool) {
	n := r.PathValue("name")
	if !validName(n) {
		s.writeError(w, r, badRequest("name", "not a journey name"))
		return "", false
	}
	if s.journeys == nil {
		s.writeError(w, r, errNotAvailable("journeys"))
		return "", false
	}
	return n, true
}

func (s *Server) handleJourneyPause(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	if err := s.journeys.Pause(r.Context(), n, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"journey": n, "status": "paused"})
}

func (s *Server) handleJourneyResume(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	if err := s.journeys.Resume(r.Context(), n, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Nudge()
	writeJSON(w, http.StatusOK, map[string]any{"journey": n, "status": "active"})
}

func (s *Server) handleJourneyFailures(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	res, err := s.journeys.Failures(r.Context(), n)
	s.reply(w, r, res, err)
}

func (s *Server) handleJourneyStats(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	res, err := s.journeys.Stats(r.Context(), n)
	s.reply(w, r, res, err)
}

type triggerRequest struct {
	Entries []struct {
		User    string         `json:"user"`
		Payload map[string]any `json:"payload"`
		Ref     string         `json:"ref"`
	} `json:"entries"`
}

// handleJourneyTrigger enters people into an api-entry journey: every
// person is resolved before anyone enters.
func (s *Server) handleJourneyTrigger(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	var req triggerRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Entries) == 0 || len(req.Entries) > 10000 {
		s.writeError(w, r, badRequest("entries", "want 1 to 10000 entries"))
		return
	}
	entries := make([]TriggerEntry, len(req.Entries))
	for i, e := range req.Entries {
		field := fmt.Sprintf("entries[%d]", i)
		if strings.TrimSpace(e.User) == "" {
			s.writeError(w, r, badRequest(field+".user", "required"))
			return
		}
		if len(e.Ref) > 512 {
			s.writeError(w, r, badRequest(field+".ref", "longer than 512 characters"))
			return
		}
		id, err := s.store.ResolveUser(r.Context(), e.User)
		if err != nil {
			s.writeError(w, r, fieldNotFound(field+".user", err))
			return
		}
		entries[i] = TriggerEntry{ProfileID: id, Payload: e.Payload, Ref: e.Ref}
	}
	res, err := s.journeys.Trigger(r.Context(), n, entries)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Nudge()
	writeJSON(w, http.StatusOK, res)
}

// --- privacy
