package server

import (
	"net/http"
	"strings"

	"github.com/tactcdp/tact/engine"
)

type suppressionRequest struct {
	Kind    string `json:"kind"`
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

func (s *Server) suppressionReq(w http.ResponseWriter, r *http.Request, needReason bool) (suppressionRequest, string, bool) {
	var req suppressionRequest
	if !s.decode(w, r, &req) {
		return req, "", false
	}
	switch {
	case engine.IsAddressKind(req.Kind):
	case req.Kind == "":
		s.writeError(w, r, badRequest("kind", "required (%s)", engine.AddressKindList()))
		return req, "", false
	default:
		s.writeError(w, r, badRequest("kind", "want %s", engine.AddressKindList()))
		return req, "", false
	}
	addr, err := s.store.NormaliseIdentifier(req.Kind, req.Address)
	if err != nil || strings.TrimSpace(req.Address) == "" {
		s.writeError(w, r, badRequest("address", "not a valid %s", req.Kind))
		return req, "", false
	}
	if needReason {
		if req.Reason == "" {
			req.Reason = engine.SuppressManual
		}
		switch req.Reason {
		case engine.SuppressManual, engine.SuppressHardBounce, engine.SuppressComplaint, engine.SuppressStop, engine.SuppressInvalid:
		default:
			s.writeError(w, r, badRequest("reason", "want manual, hard_bounce, complaint, stop or invalid_token"))
			return req, "", false
		}
	} else if req.Reason != "" {
		s.writeError(w, r, badRequest("reason", "not used by this endpoint"))
		return req, "", false
	}
	return req, addr, true
}

func (s *Server) handleSuppress(w http.ResponseWriter, r *http.Request) {
	req, addr, ok := s.suppressionReq(w, r, true)
	if !ok {
		return
	}
	if err := s.store.Suppress(r.Context(), req.Kind, addr, req.Reason, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"suppressed": true, "hash": s.store.HashIdentifier(req.Kind, addr)})
}

func (s *Server) handleUnsuppress(w http.ResponseWriter, r *http.Request) {
	req, addr, ok := s.suppressionReq(w, r, false)
	if !ok {
		return
	}
	if err := s.store.Unsuppress(r.Context(), req.Kind, addr); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"suppressed": false})
}

func (s *Server) handleSuppressCheck(w http.ResponseWriter, r *http.Request) {
	req, addr, ok := s.suppressionReq(w, r, false)
	if !ok {
		return
	}
	sup, reason, err := s.store.Suppressed(r.Context(), req.Kind, addr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"suppressed": sup, "reason": reason})
}

// --- links and audit
