package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/engine"
)

func (s *Server) handleProfileSearch(w http.ResponseWriter, r *http.Request) {
	ident := r.URL.Query().Get("identity")
	if strings.TrimSpace(ident) == "" {
		s.writeError(w, r, badRequest("identity", "required: a user_id, email, phone, anonymous_id or device token"))
		return
	}
	id, err := s.store.ResolveUser(r.Context(), ident)
	if errors.Is(err, engine.ErrNotFound) {
		writeJSON(w, http.StatusOK, map[string]any{"profiles": []any{}})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.store.Profile(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.RecordAccess(r.Context(), engine.DataAccess{Actor: actor(r), What: "profile search", ProfileID: id, Rows: 1}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profiles": []any{p}})
}

func (s *Server) handleProfileShow(w http.ResponseWriter, r *http.Request) {
	id, ok := s.profileParam(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	limit := 100
	if v := r.URL.Query().Get("events"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			s.writeError(w, r, badRequest("events", "want 0 to 10000"))
			return
		}
		limit = n
	}
	p, err := s.store.Profile(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.store.Identities(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var evs []engine.Event
	if limit > 0 {
		if evs, err = s.store.Events(ctx, id, limit); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	merges, err := s.store.Merges(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.RecordAccess(ctx, engine.DataAccess{Actor: actor(r), What: "profile show", ProfileID: id, Rows: int64(1 + len(ids) + len(evs))}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile": p, "identities": nonNil(ids), "events": nonNil(evs), "merges": nonNil(merges)})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
