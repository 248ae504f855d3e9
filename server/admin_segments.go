package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/segments"
)

type segmentRequest struct {
	Expr    string `json:"expr"`
	Purpose string `json:"purpose"`
	Channel string `json:"channel"`
	Format  string `json:"format"`
	Name    string `json:"name"`
	// Traits and AllTraits add trait columns to a member list.
	Traits    []string `json:"traits"`
	AllTraits bool     `json:"all_traits"`
}

// segmentReq decodes and checks a segment request; only member lists
// (members) take traits.
func (s *Server) segmentReq(w http.ResponseWriter, r *http.Request, needName, members bool) (segmentRequest, bool) {
	var req segmentRequest
	if !s.decode(w, r, &req) {
		return req, false
	}
	if !members && (len(req.Traits) > 0 || req.AllTraits) {
		s.writeError(w, r, badRequest("traits", "only member lists take traits"))
		return req, false
	}
	if strings.TrimSpace(req.Expr) == "" {
		s.writeError(w, r, badRequest("expr", "required"))
		return req, false
	}
	if len(req.Expr) > 16<<10 {
		s.writeError(w, r, badRequest("expr", "longer than 16 KiB"))
		return req, false
	}
	if (req.Purpose == "") != (req.Channel == "") {
		f := "purpose"
		if req.Channel == "" {
			f = "channel"
		}
		s.writeError(w, r, badRequest(f, "purpose and channel go together"))
		return req, false
	}
	if req.Purpose != "" && !s.store.Policy().Known(req.Purpose) {
		s.writeError(w, r, badRequest("purpose", "unknown purpose %q", req.Purpose))
		return req, false
	}
	if req.Channel != "" && !consent.KnownChannel(req.Channel) {
		s.writeError(w, r, badRequest("channel", "unknown channel %q (want email, sms, push or webhook)", req.Channel))
		return req, false
	}
	if needName {
		if !validName(req.Name) {
			s.writeError(w, r, badRequest("name", "want 1 to 100 letters, digits, _ or -"))
			return req, false
		}
	} else if req.Name != "" {
		s.writeError(w, r, badRequest("name", "not used by this endpoint"))
		return req, false
	}
	return req, true
}

func validName(n string) bool {
	if n == "" || len(n) > 100 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *Server) handleSegmentCheck(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, false, false)
	if !ok {
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	res, err := s.segments.Check(r.Context(), req.Expr)
	s.reply(w, r, res, err)
}

func (s *Server) handleSegmentCount(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, false, false)
	if !ok {
		return
	}
	if req.Format != "" {
		s.writeError(w, r, badRequest("format", "not used by count"))
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	start := time.Now()
	res, err := s.segments.Count(r.Context(), AudienceQuery{Expr: req.Expr, Purpose: req.Purpose, Channel: req.Channel})
	s.metrics.ObserveSegmentCompute("count", time.Since(start))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

var memberFormats = map[string]string{ //nolint:gochecknoglobals // read-only after initialisation
	"json":    "application/x-ndjson",
	"jsonl":   "application/x-ndjson",
	"csv":     "text/csv; charset=utf-8",
	"parquet": "application/vnd.apache.parquet",
	"arrow":   "application/vnd.apache.arrow.file",
}

// lazyWriter sets headers on the first write so that an error before any
// output can still be reported as JSON.
type lazyWriter struct {
	w       http.ResponseWriter
	ct      string
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", l.ct)
		l.w.Header().Set("Cache-Control", "no-store")
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

func (s *Server) handleSegmentMembers(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, false, true)
	if !ok {
		return
	}
	if req.Format == "" {
		req.Format = "json"
	}
	ct, known := memberFormats[req.Format]
	if !known {
		s.writeError(w, r, badRequest("format", "unknown format %q (want json, csv, parquet or arrow)", req.Format))
		return
	}
	traits, err := segments.MemberTraits(r.Context(), s.store, req.Traits, req.AllTraits)
	if err != nil {
		s.writeError(w, r, traitErr(err, req.Traits))
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	lw := &lazyWriter{w: w, ct: ct}
	start := time.Now()
	// Without a purpose the list is not consent-filtered: ids only, unless
	// the caller is an admin. Every export is audited with its row count
	// and the trait columns it added.
	q := AudienceQuery{Expr: req.Expr, Purpose: req.Purpose, Channel: req.Channel, IDsOnly: req.Purpose == "" && !caller(r).role.allows(RoleAdmin), Traits: traits}
	if q.IDsOnly {
		// Naming a contact column is no way around that rule.
		for i, name := range req.Traits {
			if segments.IsContactColumn(strings.TrimSpace(name)) {
				s.writeError(w, r, errf(http.StatusForbidden, "forbidden", fmt.Sprintf("traits[%d]", i),
					"%s is a contact column: a member list without a purpose carries contact columns for the admin role only", strings.TrimSpace(name)))
				return
			}
		}
	}
	rows, err := s.segments.Members(r.Context(), q, req.Format, lw)
	if err == nil {
		fields := "contact"
		if q.IDsOnly {
			fields = "profile_id"
		}
		added := segments.MemberExport{IDsOnly: q.IDsOnly, Traits: traits}.Added()
		if aerr := s.store.RecordAccess(context.WithoutCancel(r.Context()), engine.DataAccess{Actor: actor(r), What: "segment members",
			Expr: req.Expr, Purpose: req.Purpose, Channel: req.Channel, Format: req.Format, Fields: fields, Traits: added, Rows: rows}); aerr != nil {
			s.log.Error("member export not audited", "err", errClass(aerr))
		}
	}
	s.metrics.ObserveSegmentCompute("members", time.Since(start))
	if err != nil {
		if !lw.started {
			s.writeError(w, r, err)
			return
		}
		s.log.Error("segment members stream failed", "err", errClass(err))
		return
	}
	if !lw.started {
		_, _ = lw.Write(nil)
	}
}

// traitErr names the request field of a refused trait (traits[i], or
// traits for a name --all-traits brought).
func traitErr(err error, names []string) error {
	var te *segments.TraitError
	if !errors.As(err, &te) {
		return err
	}
	field := "traits"
	for i, n := range names {
		if strings.TrimSpace(n) == te.Name {
			field = fmt.Sprintf("traits[%d]", i)
			if te.Reason != "repeated" {
				break
			}
		}
	}
	return badRequest(field, "%v", te)
}

func (s *Server) handleSegmentDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName(name) {
		s.writeError(w, r, badRequest("name", "not a segment name"))
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	if err := s.segments.Delete(r.Context(), name, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"segment": name, "deleted": true})
}

func (s *Server) handleSegmentList(w http.ResponseWriter, r *http.Request) {
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	res, err := s.segments.List(r.Context())
	s.reply(w, r, res, err)
}

func (s *Server) handleSegmentSave(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, true, false)
	if !ok {
		return
	}
	if req.Purpose != "" || req.Format != "" {
		s.writeError(w, r, badRequest("purpose", "a saved segment has only a name and an expression"))
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	res, err := s.segments.Save(r.Context(), req.Name, req.Expr, actor(r))
	s.reply(w, r, res, err)
}

// --- journeys
