package server

import (
	"fmt"
	"net/http"

	"github.com/tactcdp/tact/engine/consent"
)

type linksRequest struct {
	User    string `json:"user"`
	Purpose string `json:"purpose"`
	Channel string `json:"channel"`
}

func (s *Server) handleLinks(w http.ResponseWriter, r *http.Request) {
	var req linksRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Purpose == "" {
		req.Purpose = "marketing"
	}
	if req.Channel == "" {
		req.Channel = "email"
	}
	if !s.store.Policy().Known(req.Purpose) {
		s.writeError(w, r, badRequest("purpose", "unknown purpose %q", req.Purpose))
		return
	}
	if !consent.KnownChannel(req.Channel) {
		s.writeError(w, r, badRequest("channel", "unknown channel %q", req.Channel))
		return
	}
	if req.User == "" {
		s.writeError(w, r, badRequest("user", "required"))
		return
	}
	id, err := s.store.ResolveUser(r.Context(), req.User)
	if err != nil {
		s.writeError(w, r, fieldNotFound("user", err))
		return
	}
	if s.signer == nil || s.links.BaseURL == "" {
		s.writeError(w, r, errNotAvailable("signed links (set server.public_url and server.link_keys)"))
		return
	}
	unsub, _, err := s.links.Unsubscribe(id, req.Purpose, req.Channel)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	prefs, _, err := s.links.Preferences(id, req.Purpose, req.Channel)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile_id": id, "unsubscribe": unsub, "preferences": prefs,
		"list_unsubscribe": fmt.Sprintf("<%s>", unsub), "list_unsubscribe_post": "List-Unsubscribe=One-Click"})
}
