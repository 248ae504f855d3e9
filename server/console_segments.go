package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/segments"
)

// The segment editor: validation as you type, path taken, live audience
// count with its removal breakdown, a sample of members, saved segments.

func (c *console) mountSegments(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/segments", c.need(RoleRead, c.handleSegments))
	mux.HandleFunc("GET /console/segments/live", c.need(RoleRead, c.handleSegmentLive))
	mux.HandleFunc("POST /console/segments/save", c.need(RoleMarketer, c.handleSegmentSave))
	mux.HandleFunc("GET /console/segments/saved/{name}", c.need(RoleRead, c.handleSavedSegment))
	mux.HandleFunc("POST /console/segments/saved/{name}/delete", c.need(RoleMarketer, c.handleSegmentDelete))
}

// liveResult is the editor's answer for one expression: JSON for the
// script, and the page's data without it.
type liveResult struct {
	Expr    string            `json:"-"`
	Purpose string            `json:"purpose"`
	Channel string            `json:"channel"`
	Valid   bool              `json:"valid"`
	Error   *exprProblem      `json:"error,omitempty"`
	Path    string            `json:"path,omitempty"`
	Reasons []string          `json:"reasons,omitempty"`
	Counts  *segments.Counts  `json:"counts,omitempty"`
	Bar     string            `json:"bar,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// exprProblem is a compile error with its position (1-based) and the
// source line with a caret under the column.
type exprProblem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Caret   string `json:"caret,omitempty"`
}

// caretAt shows line n of src with a caret under column col.
func caretAt(src string, n, col int) string {
	lines := strings.Split(src, "\n")
	if n < 1 || n > len(lines) || col < 1 {
		return ""
	}
	return lines[n-1] + "\n" + strings.Repeat(" ", col-1) + "^"
}

// consoleCompile compiles expr with the server's expression limits.
func (c *console) consoleCompile(ctx context.Context, expr string) (*segments.Segment, *exprProblem, error) {
	sc, err := segments.SchemaFromStore(ctx, c.s.store)
	if err != nil {
		return nil, nil, err
	}
	var lim segments.Limits
	if a, ok := c.s.segments.(SegmentsAdapter); ok {
		lim = a.Limits
	}
	if lim.Timeout <= 0 {
		lim.Timeout = segments.DefaultTimeout
	}
	seg, err := segments.Compile(expr, sc, segments.WithLimits(lim))
	var se *segments.Error
	if errors.As(err, &se) {
		msg := se.Error()
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
		return nil, &exprProblem{Line: se.Line, Column: se.Column, Message: msg, Caret: caretAt(expr, se.Line, se.Column)}, nil
	}
	return seg, nil, err
}

// scope reads purpose and channel from the query; both empty means none.
func scope(q url.Values) (string, string) {
	p, ch := strings.TrimSpace(q.Get("purpose")), strings.TrimSpace(q.Get("channel"))
	if p == "" || ch == "" {
		return "", ""
	}
	return p, ch
}

// live checks and counts expr for the scope. A compile error is a result,
// not an error; other errors (time limit, database) are.
func (c *console) live(ctx context.Context, lang, expr, purpose, channel string) (liveResult, *segments.Audience, error) {
	res := liveResult{Expr: expr, Purpose: purpose, Channel: channel}
	if strings.TrimSpace(expr) == "" {
		return res, nil, nil
	}
	seg, prob, err := c.consoleCompile(ctx, expr)
	if err != nil || prob != nil {
		res.Error = prob
		return res, nil, err
	}
	res.Valid, res.Path, res.Reasons = true, string(seg.Path()), seg.Reasons()
	aud, err := segments.NewAudience(c.s.store, seg, purpose, channel)
	if err != nil {
		res.Valid = false
		res.Error = &exprProblem{Message: err.Error()}
		return res, nil, nil
	}
	select {
	case c.counting <- struct{}{}:
		defer func() { <-c.counting }()
	case <-ctx.Done():
		return res, nil, ctx.Err()
	}
	counts, err := aud.Count(ctx, c.s.store)
	if err != nil {
		return res, nil, err
	}
	res.Counts = &counts
	res.Bar = removalBar(lang, counts)
	return res, aud, nil
}

// editorData feeds segments.html.
type editorData struct {
	Live     liveResult
	Purposes []string
	Channels []string
	Sample   *sampleView
	Saved    []segments.Saved
	Name     string
	Failure  string
}

// sampleView is up to 20 members with their non-sensitive traits.
type sampleView struct {
	Columns []string
	Rows    []sampleRow
}

type sampleRow struct {
	ID     int64
	Values []string
}

func (c *console) handleSegments(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, "segments", "c.segments")
	q := r.URL.Query()
	purpose, channel := scope(q)
	if _, set := q["purpose"]; !set {
		purpose, channel = "marketing", "email"
	}
	d := editorData{Purposes: c.purposes(), Channels: consoleChannels(), Name: q.Get("name")}
	res, aud, err := c.live(r.Context(), v.Lang, q.Get("expr"), purpose, channel)
	d.Live = res
	if err != nil {
		d.Failure = c.failureText(v.Lang, err)
	} else if aud != nil && q.Get("sample") != "" {
		if d.Sample, err = c.sample(r, aud); err != nil {
			d.Failure = c.failureText(v.Lang, err)
		}
	}
	if d.Saved, err = segments.List(r.Context(), c.s.store); err != nil {
		d.Failure = c.failureText(v.Lang, err)
	}
	v.Notice = noticeFrom(v.Lang, q)
	v.Data = d
	c.render(w, http.StatusOK, "segments", v)
}

// handleSegmentLive answers the editor's script: validation, path and
// counts as JSON (no personal data, so nothing to audit).
func (c *console) handleSegmentLive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	purpose, channel := scope(q)
	lang := c.lang(r)
	res, _, err := c.live(r.Context(), lang, q.Get("expr"), purpose, channel)
	w.Header().Set("Cache-Control", "no-store")
	if r.Context().Err() != nil {
		return // superseded by a newer keystroke: nobody is waiting
	}
	if err != nil {
		writeJSON(w, toAPIError(err).Status, map[string]any{"valid": false, "failure": c.failureText(lang, err)})
		return
	}
	res.Labels = map[string]string{"count": T(lang, "c.audience"), "segment": T(lang, "c.segment_size")}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// failureText is a user-facing line for an evaluation failure.
func (c *console) failureText(lang string, err error) string {
	if errors.Is(err, segments.ErrTimeLimit) {
		return T(lang, "c.err_time")
	}
	c.s.log.Error("console request failed", "err", errClass(err))
	return T(lang, "c.err_generic")
}

// consoleChannels lists the channels a scope may name.
func consoleChannels() []string {
	out := []string{}
	for _, ch := range consent.Channels() {
		if ch != consent.Wildcard {
			out = append(out, ch)
		}
	}
	return out
}

// purposes lists the purposes the store's policy knows.
func (c *console) purposes() []string {
	out := []string{}
	for _, p := range c.s.store.Policy().Purposes() {
		out = append(out, p.Name)
	}
	return out
}

// sensitiveTrait reports traits never shown in a sample: contact details,
// names, addresses, birth dates, network identifiers.
func sensitiveTrait(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"email", "phone", "name", "address", "street", "postcode", "zip", "birth", "dob", "ip", "token", "password", "id_card", "national", "passport", "line_user"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// sample reads up to 20 audience members' non-sensitive traits; the read
// is audited like an API member export.
func (c *console) sample(r *http.Request, aud *segments.Audience) (*sampleView, error) {
	ctx := r.Context()
	ids, err := aud.IDs(ctx, c.s.store)
	if err != nil {
		return nil, err
	}
	if len(ids) > 20 {
		ids = ids[:20]
	}
	traits, err := c.s.store.Traits(ctx)
	if err != nil {
		return nil, err
	}
	sv := &sampleView{}
	for _, t := range traits {
		if !sensitiveTrait(t.Name) && len(sv.Columns) < 8 {
			sv.Columns = append(sv.Columns, t.Name)
		}
	}
	for _, id := range ids {
		p, err := c.s.store.Profile(ctx, id)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		row := sampleRow{ID: id}
		for _, col := range sv.Columns {
			row.Values = append(row.Values, traitText(p.Traits[col]))
		}
		sv.Rows = append(sv.Rows, row)
	}
	err = c.s.store.RecordAccess(ctx, engine.DataAccess{Actor: consoleActor(r), What: "console segment sample",
		Expr: aud.Segment.Source(), Purpose: aud.Purpose, Channel: aud.Channel, Fields: "traits", Rows: int64(len(sv.Rows))})
	return sv, err
}

func (c *console) handleSegmentSave(w http.ResponseWriter, r *http.Request) {
	name, expr := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("expr")
	if c.s.segments == nil {
		c.fail(w, r, http.StatusNotImplemented, "c.err_unavailable")
		return
	}
	if _, err := c.s.segments.Save(r.Context(), name, expr, consoleActor(r)); err != nil {
		v := c.newView(r, "segments", "c.segments")
		ae := toAPIError(err)
		v.Error = ae.Message
		purpose, channel := scope(r.PostForm)
		res, _, _ := c.live(r.Context(), v.Lang, expr, purpose, channel)
		saved, _ := segments.List(r.Context(), c.s.store)
		v.Data = editorData{Live: res, Purposes: c.purposes(), Channels: consoleChannels(), Name: name, Saved: saved}
		c.render(w, ae.Status, "segments", v)
		return
	}
	redirect(w, r, consolePrefix+"/segments/saved/"+url.PathEscape(name), url.Values{"saved": {"1"}})
}

// handleSegmentDelete deletes a saved segment once the form's confirmation
// box is ticked (the segments adapter audits it).
func (c *console) handleSegmentDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if r.PostForm.Get("confirm") != "yes" {
		redirect(w, r, consolePrefix+"/segments/saved/"+url.PathEscape(name), url.Values{"confirm": {"1"}})
		return
	}
	if err := c.s.segments.Delete(r.Context(), name, consoleActor(r)); err != nil {
		ae := toAPIError(err)
		c.fail(w, r, ae.Status, "c.err_generic")
		return
	}
	redirect(w, r, consolePrefix+"/segments", url.Values{"deleted": {name}})
}

// savedData feeds saved.html.
type savedData struct {
	Segment segments.Saved
	History string
	Changes []segments.Change
	Sizes   []sizePoint
	// Computation is the one whose changes are listed.
	Computation int64
}

func (c *console) handleSavedSegment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := c.newView(r, "segments", "c.segments")
	name := r.PathValue("name")
	sv, err := segments.Get(ctx, c.s.store, name)
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "c.err_notfound")
		return
	}
	sizes, err := c.sizeHistory(ctx, name)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	comp, _ := strconv.ParseInt(r.URL.Query().Get("computation"), 10, 64)
	if comp <= 0 || comp > sv.Computation {
		comp = sv.Computation
	}
	changes, err := segments.Changes(ctx, c.s.store, name, comp)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	if len(changes) > 100 {
		changes = changes[:100]
	}
	v.Title = sv.Name
	v.Notice = noticeFrom(v.Lang, r.URL.Query())
	v.Data = savedData{Segment: sv, History: sizeChart(v.Lang, sizes), Changes: changes, Sizes: sizes, Computation: comp}
	c.render(w, http.StatusOK, "saved", v)
}

// sizePoint is a saved segment's size after one computation.
type sizePoint struct {
	Computation int64
	Members     int64
}

// sizeHistory reconstructs the size after each computation from the
// recorded entries and exits (segments.Changes' table).
func (c *console) sizeHistory(ctx context.Context, name string) ([]sizePoint, error) {
	rows, err := c.s.store.DB().QueryContext(ctx, `SELECT computation,
  count(*) FILTER (WHERE change = 'entered') - count(*) FILTER (WHERE change = 'exited')
FROM segment_changes WHERE segment = ? GROUP BY computation ORDER BY computation`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sizePoint
	var total int64
	for rows.Next() {
		var p sizePoint
		var delta int64
		if err := rows.Scan(&p.Computation, &delta); err != nil {
			return nil, err
		}
		total += delta
		p.Members = total
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Computation < out[j].Computation })
	return out, rows.Err()
}

// noticeFrom turns a redirect's flag into a translated notice.
func noticeFrom(lang string, q url.Values) string {
	for _, k := range []string{"saved", "published", "paused", "resumed", "done", "signedout"} {
		if q.Get(k) != "" {
			return T(lang, "c.notice_"+k)
		}
	}
	return ""
}
