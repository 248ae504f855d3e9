package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
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

type segmentRequest struct {
	Expr    string `json:"expr"`
	Purpose string `json:"purpose"`
	Channel string `json:"channel"`
	Format  string `json:"format"`
	Name    string `json:"name"`
}

func (s *Server) segmentReq(w http.ResponseWriter, r *http.Request, needName bool) (segmentRequest, bool) {
	var req segmentRequest
	if !s.decode(w, r, &req) {
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
	req, ok := s.segmentReq(w, r, false)
	if !ok {
		return
	}
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	res, err := s.segments.Check(r.Context(), req.Expr)
	if err != nil {
		s.writeError(w, r, exprError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// exprError reports a rejected expression as a 400 on field expr.
func exprError(err error) error {
	ae := toAPIError(err)
	if ae.Status == http.StatusInternalServerError && !errors.Is(err, context.Canceled) {
		var ce interface{ ExprError() bool }
		if errors.As(err, &ce) && ce.ExprError() {
			return badRequest("expr", "%s", err.Error())
		}
	}
	return err
}

func (s *Server) handleSegmentCount(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, false)
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
		s.writeError(w, r, exprError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

var memberFormats = map[string]string{
	"json":    "application/x-ndjson",
	"jsonl":   "application/x-ndjson",
	"csv":     "text/csv; charset=utf-8",
	"parquet": "application/vnd.apache.parquet",
	"arrow":   "application/vnd.apache.arrow.stream",
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
	req, ok := s.segmentReq(w, r, false)
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
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	lw := &lazyWriter{w: w, ct: ct}
	start := time.Now()
	// Without a purpose the list is not consent-filtered: ids only, unless
	// the caller is an admin. Every export is audited with its row count.
	me := &memberExport{idsOnly: req.Purpose == "" && !caller(r).role.allows(RoleAdmin)}
	ctx := context.WithValue(r.Context(), memberExportKey{}, me)
	err := s.segments.Members(ctx, AudienceQuery{Expr: req.Expr, Purpose: req.Purpose, Channel: req.Channel}, req.Format, lw)
	if err == nil {
		fields := "contact"
		if me.idsOnly {
			fields = "profile_id"
		}
		if aerr := s.store.RecordAccess(context.WithoutCancel(ctx), engine.DataAccess{Actor: actor(r), What: "segment members",
			Expr: req.Expr, Purpose: req.Purpose, Channel: req.Channel, Format: req.Format, Fields: fields, Rows: me.rows}); aerr != nil {
			s.log.Error("member export not audited", "err", errClass(aerr))
		}
	}
	s.metrics.ObserveSegmentCompute("members", time.Since(start))
	if err != nil {
		if !lw.started {
			s.writeError(w, r, exprError(err))
			return
		}
		s.log.Error("segment members stream failed", "err", errClass(err))
		return
	}
	if !lw.started {
		_, _ = lw.Write(nil)
	}
}

func (s *Server) handleSegmentList(w http.ResponseWriter, r *http.Request) {
	if s.segments == nil {
		s.writeError(w, r, errNotAvailable("segments"))
		return
	}
	res, err := s.segments.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleSegmentSave(w http.ResponseWriter, r *http.Request) {
	req, ok := s.segmentReq(w, r, true)
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
	if err != nil {
		s.writeError(w, r, exprError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// --- journeys

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
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
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
	if err != nil {
		s.writeError(w, r, specError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// specError reports a refused spec as 400 (the journeys package's errors
// carry the field in their text).
func specError(err error) error {
	ae := toAPIError(err)
	if ae.Status == http.StatusInternalServerError {
		var se interface{ SpecError() bool }
		if errors.As(err, &se) && se.SpecError() {
			return badRequest("spec", "%s", err.Error())
		}
	}
	return err
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
	if err != nil {
		s.writeError(w, r, specError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
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

func (s *Server) handleJourneyStats(w http.ResponseWriter, r *http.Request) {
	n, ok := s.journeyName(w, r)
	if !ok {
		return
	}
	res, err := s.journeys.Stats(r.Context(), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
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

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after int64
	limit := 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, badRequest("after", "want a sequence number"))
			return
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			s.writeError(w, r, badRequest("limit", "want 1 to 10000"))
			return
		}
		limit = n
	}
	entries, err := s.store.AuditLog(r.Context(), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(entries)})
}
