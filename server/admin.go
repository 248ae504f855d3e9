package server

import (
	"net/http"
	"strconv"
	"strings"
)

// decode reads a strict JSON body into v, writing the error when it fails.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		s.writeError(w, r, errf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type must be application/json"))
		return false
	}
	data, aerr := readIngestBody(r, s.adminLimit)
	if aerr == nil {
		aerr = checkJSONText(data) // invalid UTF-8 and NUL: 400 naming the field
	}
	if aerr == nil {
		aerr = decodeJSONBytes(data, v)
	}
	if aerr != nil {
		s.writeError(w, r, aerr)
		return false
	}
	return true
}

// profileParam reads {id}: a numeric profile id.
func (s *Server) profileParam(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, badRequest("id", "want a numeric profile id"))
		return 0, false
	}
	if _, err := s.store.Profile(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return 0, false
	}
	return id, true
}

// reply answers an admin call: 200 with res as JSON, or err as the API
// error it maps to.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, res any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
