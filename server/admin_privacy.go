package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/engine"
)

type privacyRequest struct {
	User      string         `json:"user"`
	Set       map[string]any `json:"set"`
	RequestID int64          `json:"request_id"`
}

// rectifyText turns JSON values into the text Rectify parses; null clears.
func rectifyText(set map[string]any) (map[string]string, *apiError) {
	out := make(map[string]string, len(set))
	for k, v := range set {
		switch x := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = strconv.FormatBool(x)
		case []any:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		default:
			return nil, badRequest("set."+k, "want a string, number, boolean, list or null")
		}
	}
	return out, nil
}

func (s *Server) handlePrivacy(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	switch op {
	case "export", "rectify", "restrict", "unrestrict", "object", "unobject", "erase":
	case "requests":
		s.writeError(w, r, errf(http.StatusMethodNotAllowed, "method_not_allowed", "", "use GET or POST /api/v1/privacy/requests"))
		return
	default:
		s.writeError(w, r, errf(http.StatusNotFound, "not_found", "op", "unknown privacy operation %q (want export, rectify, restrict, unrestrict, object, unobject or erase)", op))
		return
	}
	var req privacyRequest
	if !s.decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.User) == "" {
		s.writeError(w, r, badRequest("user", "required"))
		return
	}
	var set map[string]string
	if op == "rectify" {
		if len(req.Set) == 0 {
			s.writeError(w, r, badRequest("set", "required: the traits to correct"))
			return
		}
		var aerr *apiError
		if set, aerr = rectifyText(req.Set); aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
	} else if req.Set != nil {
		s.writeError(w, r, badRequest("set", "only rectify takes set"))
		return
	}
	if req.RequestID < 0 {
		s.writeError(w, r, badRequest("request_id", "want a request id"))
		return
	}
	// Validate the person before anything else.
	if _, err := s.store.ResolveUser(r.Context(), req.User); err != nil {
		s.writeError(w, r, fieldNotFound("user", err))
		return
	}
	var res any
	var err error
	ctx := r.Context()
	opts := engine.PrivacyOptions{Actor: actor(r), RequestID: req.RequestID}
	switch op {
	case "export":
		res, err = s.privacy.Export(ctx, req.User, opts)
	case "rectify":
		res, err = s.privacy.Rectify(ctx, req.User, set, opts)
	case "restrict", "unrestrict":
		res, err = s.privacy.Restrict(ctx, req.User, op == "restrict", opts)
	case "object", "unobject":
		res, err = s.privacy.Object(ctx, req.User, op == "object", opts)
	case "erase":
		res, err = s.privacy.Erase(ctx, req.User, opts)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if op == "export" {
		w.Header().Set("Content-Disposition", `attachment; filename="tact-export.json"`)
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleRequestsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := engine.RequestFilter{All: q.Get("all") == "true" || q.Get("all") == "1", OverdueOnly: q.Get("overdue") == "true" || q.Get("overdue") == "1"}
	if u := q.Get("user"); u != "" {
		id, err := s.store.ResolveUser(r.Context(), u)
		if err != nil {
			s.writeError(w, r, fieldNotFound("user", err))
			return
		}
		f.ProfileID = id
	}
	reqs, err := s.store.Requests(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
}

type openRequest struct {
	Kind       string `json:"kind"`
	User       string `json:"user"`
	ReceivedAt string `json:"received_at"`
}

func (s *Server) handleRequestOpen(w http.ResponseWriter, r *http.Request) {
	var req openRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Kind == "" {
		s.writeError(w, r, badRequest("kind", "required"))
		return
	}
	if req.User == "" {
		s.writeError(w, r, badRequest("user", "required"))
		return
	}
	at, aerr := optTime("received_at", req.ReceivedAt)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	res, err := s.store.OpenRequest(r.Context(), engine.RequestKind(req.Kind), req.User, at, actor(r))
	if err != nil {
		s.writeError(w, r, fieldNotFound("user", err))
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

// --- suppressions
