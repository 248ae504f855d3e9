package server

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tactcdp/tact/journeys"
)

// Journey pages: the list with status and health, a journey's graph with
// per-step counts, its versions with a diff, publishing from YAML, pause
// and resume. Who may publish what is decided by journeys.Runner.PublishAs.

func (c *console) mountJourneys(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/journeys", c.need(RoleRead, c.handleJourneys))
	mux.HandleFunc("GET /console/journeys/new", c.need(RoleMarketer, c.handlePublishPage))
	mux.HandleFunc("POST /console/journeys/publish", c.need(RoleMarketer, c.handlePublish))
	mux.HandleFunc("GET /console/journeys/{name}", c.need(RoleRead, c.handleJourney))
	mux.HandleFunc("POST /console/journeys/{name}/pause", c.need(RoleMarketer, c.handlePauseResume(true)))
	mux.HandleFunc("POST /console/journeys/{name}/resume", c.need(RoleMarketer, c.handlePauseResume(false)))
}

func (c *console) runner(w http.ResponseWriter, r *http.Request) (*journeys.Runner, bool) {
	if c.cfg.Runner == nil {
		c.fail(w, r, http.StatusNotImplemented, "c.err_unavailable")
		return nil, false
	}
	return c.cfg.Runner, true
}

func (c *console) handleJourneys(w http.ResponseWriter, r *http.Request) {
	rn, ok := c.runner(w, r)
	if !ok {
		return
	}
	list, err := rn.List(r.Context())
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	v := c.newView(r, "journeys", "c.journeys")
	v.Notice = noticeFrom(v.Lang, r.URL.Query())
	v.Data = list
	c.render(w, http.StatusOK, "journeys", v)
}

// versionSource reads a published version's YAML (journey_versions).
func (c *console) versionSource(ctx context.Context, name string, version int) (string, error) {
	var src string
	err := c.s.store.DB().QueryRowContext(ctx, `SELECT source FROM journey_versions WHERE journey = ? AND version = ?`, name, version).Scan(&src)
	return src, err
}

// journeyData feeds journey.html.
type journeyData struct {
	Info    journeys.Info
	Graph   string
	Stats   journeys.Stats
	Source  string
	Version int
	From    int
	To      int
	Diff    []diffLine
	Failure string
}

func (c *console) handleJourney(w http.ResponseWriter, r *http.Request) {
	rn, ok := c.runner(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	name := r.PathValue("name")
	info, err := rn.Get(ctx, name)
	var nf *journeys.NotFoundError
	if errors.As(err, &nf) {
		c.fail(w, r, http.StatusNotFound, "c.err_notfound")
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	v := c.newView(r, "journeys", "c.journeys")
	v.Title = info.Name
	v.Notice = noticeFrom(v.Lang, r.URL.Query())
	d := journeyData{Info: info, Version: info.CurrentVersion}
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("version")); err == nil && n > 0 && n <= info.CurrentVersion {
		d.Version = n
	}
	src, err := c.versionSource(ctx, name, d.Version)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	d.Source = src
	spec, perr := journeys.Parse(name, []byte(src), journeys.ValidateConfig{})
	stats, serr := rn.Stats(ctx, name)
	if perr != nil || serr != nil {
		d.Failure = T(v.Lang, "c.err_generic")
	} else {
		d.Stats = stats
		d.Graph = journeyGraph(v.Lang, spec, stats)
	}
	from, ferr := strconv.Atoi(q.Get("from"))
	to, terr := strconv.Atoi(q.Get("to"))
	if ferr == nil && terr == nil && from > 0 && to > 0 {
		a, aerr := c.versionSource(ctx, name, from)
		b, berr := c.versionSource(ctx, name, to)
		if aerr == nil && berr == nil {
			d.From, d.To, d.Diff = from, to, lineDiff(a, b)
		} else if !errors.Is(aerr, sql.ErrNoRows) && !errors.Is(berr, sql.ErrNoRows) {
			d.Failure = T(v.Lang, "c.err_generic")
		}
	}
	v.Data = d
	c.render(w, http.StatusOK, "journey", v)
}

// publishData feeds publish.html.
type publishData struct {
	YAML     string
	Problems []journeys.Problem
	Lines    []srcLine
	Valid    string
}

// srcLine is one numbered line of the submitted YAML, marked when a
// problem points at it.
type srcLine struct {
	N    int
	Text string
	Bad  bool
}

func numbered(src string, problems []journeys.Problem) []srcLine {
	bad := map[int]bool{}
	for _, p := range problems {
		bad[p.Line] = true
	}
	var out []srcLine
	for i, l := range strings.Split(src, "\n") {
		out = append(out, srcLine{N: i + 1, Text: l, Bad: bad[i+1]})
	}
	return out
}

func (c *console) handlePublishPage(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, "journeys", "c.publish")
	d := publishData{}
	if rn := c.cfg.Runner; rn != nil {
		if name := r.URL.Query().Get("from"); name != "" {
			if info, err := rn.Get(r.Context(), name); err == nil {
				d.YAML, _ = c.versionSource(r.Context(), name, info.CurrentVersion)
			}
		}
	}
	v.Data = d
	c.render(w, http.StatusOK, "publish", v)
}

// handlePublish validates or publishes the posted YAML. Every problem is
// shown at its line; a refusal by role (a transactional journey by a
// marketer) comes from Runner.PublishAs.
func (c *console) handlePublish(w http.ResponseWriter, r *http.Request) {
	rn, ok := c.runner(w, r)
	if !ok {
		return
	}
	src := strings.ReplaceAll(r.PostForm.Get("yaml"), "\r\n", "\n")
	v := c.newView(r, "journeys", "c.publish")
	d := publishData{YAML: src}
	var err error
	var ver journeys.Version
	if r.PostForm.Get("action") == "validate" {
		var spec *journeys.Spec
		if spec, err = rn.Validate("console", []byte(src)); err == nil {
			d.Valid = spec.Name
		}
	} else {
		se := sessionOf(r)
		ver, err = rn.PublishAs(r.Context(), "console", []byte(src), journeys.Publisher{Actor: consoleActor(r), Admin: se.p.role.allows(RoleAdmin)})
	}
	if err == nil && d.Valid == "" {
		redirect(w, r, consolePrefix+"/journeys/"+url.PathEscape(ver.Journey), url.Values{"published": {strconv.Itoa(ver.Version)}})
		return
	}
	status := http.StatusOK
	var ve *journeys.ValidationError
	var fe *journeys.ForbiddenError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		status, d.Problems = http.StatusUnprocessableEntity, ve.Problems
		v.Error = v.Tf("c.problems", len(ve.Problems))
	case errors.As(err, &fe):
		status = http.StatusForbidden
		v.Error = T(v.Lang, "c.err_transactional") + " (" + fe.Rule + ")"
	default:
		c.s.log.Error("console publish failed", "err", errClass(err))
		status, v.Error = http.StatusInternalServerError, T(v.Lang, "c.err_generic")
	}
	d.Lines = numbered(src, d.Problems)
	v.Data = d
	c.render(w, status, "publish", v)
}

func (c *console) handlePauseResume(pause bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rn, ok := c.runner(w, r)
		if !ok {
			return
		}
		name := r.PathValue("name")
		op, flag := rn.Resume, "resumed"
		if pause {
			op, flag = rn.Pause, "paused"
		}
		if err := op(r.Context(), name); err != nil {
			var nf *journeys.NotFoundError
			if errors.As(err, &nf) {
				c.fail(w, r, http.StatusNotFound, "c.err_notfound")
				return
			}
			c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
			return
		}
		_ = c.s.store.RecordAudit(r.Context(), consoleActor(r), "console.journey_"+flag, "journey:"+name, nil)
		redirect(w, r, consolePrefix+"/journeys/"+url.PathEscape(name), url.Values{flag: {"1"}})
	}
}
