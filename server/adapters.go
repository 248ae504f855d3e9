package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/journeys"
	"github.com/tactcdp/tact/segments"
)

// SegmentsAdapter is Segments over the segments package.
type SegmentsAdapter struct {
	Store *engine.Store
	// Limits bound each expression a request brings: size (segments'
	// defaults) and evaluation time. Default: segments.DefaultTimeout.
	Limits segments.Limits
}

var _ Segments = SegmentsAdapter{}

func (a SegmentsAdapter) compile(ctx context.Context, expr string) (*segments.Segment, error) {
	sc, err := segments.SchemaFromStore(ctx, a.Store)
	if err != nil {
		return nil, err
	}
	lim := a.Limits
	if lim.Timeout <= 0 {
		lim.Timeout = segments.DefaultTimeout
	}
	seg, err := segments.Compile(expr, sc, segments.WithLimits(lim))
	if err != nil {
		return nil, exprErr(err)
	}
	return seg, nil
}

func exprErr(err error) error {
	var se *segments.Error
	if errors.As(err, &se) {
		return badRequest("expr", "%s", se.Error())
	}
	return err
}

func (a SegmentsAdapter) audience(ctx context.Context, q AudienceQuery) (*segments.Audience, error) {
	seg, err := a.compile(ctx, q.Expr)
	if err != nil {
		return nil, err
	}
	aud, err := segments.NewAudience(a.Store, seg, q.Purpose, q.Channel)
	if err != nil {
		return nil, badRequest("purpose", "%v", err)
	}
	return aud, nil
}

// Check implements Segments.
func (a SegmentsAdapter) Check(ctx context.Context, expr string) (CheckResult, error) {
	seg, err := a.compile(ctx, expr)
	if err != nil {
		return CheckResult{}, err
	}
	return CheckResult{Path: seg.Path(), SQL: seg.SQL(), Reasons: nonNil(seg.Reasons())}, nil
}

// Count implements Segments.
func (a SegmentsAdapter) Count(ctx context.Context, q AudienceQuery) (segments.Counts, error) {
	aud, err := a.audience(ctx, q)
	if err != nil {
		return segments.Counts{}, err
	}
	c, err := aud.Count(ctx, a.Store)
	if err != nil {
		return segments.Counts{}, exprErr(err)
	}
	if q.Purpose == "" {
		c.Removed = nil
	}
	return c, nil
}

// Members implements Segments: JSON lines, CSV with a header, an Arrow IPC
// stream or a Parquet file.
func (a SegmentsAdapter) Members(ctx context.Context, q AudienceQuery, format string, w io.Writer) (int64, error) {
	aud, err := a.audience(ctx, q)
	if err != nil {
		return 0, err
	}
	if format == "json" {
		format = "jsonl"
	}
	n, err := segments.WriteMemberExport(ctx, a.Store, aud, format, w, segments.MemberExport{IDsOnly: q.IDsOnly, Traits: q.Traits})
	return n, exprErr(err)
}

// Save implements Segments.
func (a SegmentsAdapter) Save(ctx context.Context, name, expr, actor string) (segments.Diff, error) {
	if _, err := a.compile(ctx, expr); err != nil {
		return segments.Diff{}, err
	}
	d, err := segments.Save(ctx, a.Store, name, expr)
	if err != nil {
		var ne *segments.NameError
		if errors.As(err, &ne) {
			return segments.Diff{}, badRequest("name", "%v", err)
		}
		return segments.Diff{}, exprErr(err)
	}
	if err := a.Store.RecordAudit(ctx, actor, engine.AuditSegmentSaved, "segment:"+name,
		map[string]any{"segment": name, "members": d.Members, "expr": engine.MaskExpression(expr)}); err != nil {
		return segments.Diff{}, err
	}
	return d, nil
}

// Delete implements Segments.
func (a SegmentsAdapter) Delete(ctx context.Context, name, actor string) error {
	if err := segments.Delete(ctx, a.Store, name); err != nil {
		var ue *segments.InUseError
		if errors.As(err, &ue) {
			return errf(http.StatusConflict, "conflict", "name", "%s", ue.Error())
		}
		return err
	}
	return a.Store.RecordAudit(ctx, actor, engine.AuditSegmentDeleted, "segment:"+name, map[string]any{"segment": name})
}

// List implements Segments.
func (a SegmentsAdapter) List(ctx context.Context) (SegmentList, error) {
	l, err := segments.List(ctx, a.Store)
	if err != nil {
		return SegmentList{}, err
	}
	return SegmentList{Segments: nonNil(l)}, nil
}

// JourneysAdapter is Journeys over a journeys.Runner.
type JourneysAdapter struct {
	Runner *journeys.Runner
}

var (
	_ Journeys  = JourneysAdapter{}
	_ Scheduler = (*journeys.Scheduler)(nil)
)

func journeyErr(err error) error {
	var fe *journeys.ForbiddenError
	if errors.As(err, &fe) {
		return errf(http.StatusForbidden, "forbidden", "purpose", "%s", fe.Rule)
	}
	var ve *journeys.ValidationError
	if errors.As(err, &ve) {
		ae := badRequest("spec", "%s", ve.Error())
		if len(ve.Problems) > 0 {
			ae.Field = ve.Problems[0].Path
		}
		return ae
	}
	var se *journeys.StateError
	if errors.As(err, &se) {
		return errf(http.StatusConflict, "conflict", "name", "%s", se.Error())
	}
	if errors.Is(err, journeys.ErrNotFound) {
		return errf(http.StatusNotFound, "not_found", "name", "%s", err.Error())
	}
	return err
}

// Validate implements Journeys.
func (a JourneysAdapter) Validate(ctx context.Context, spec []byte) (ValidateResult, error) {
	s, err := a.Runner.Validate("request", spec)
	if err != nil {
		return ValidateResult{}, journeyErr(err)
	}
	return ValidateResult{Valid: true, Journey: s.Name, Purpose: s.Purpose}, nil
}

// Publish implements Journeys.
func (a JourneysAdapter) Publish(ctx context.Context, spec []byte, actor string, admin bool) (journeys.Version, error) {
	v, err := a.Runner.PublishAs(ctx, "request", spec, journeys.Publisher{Actor: actor, Admin: admin})
	if err != nil {
		return journeys.Version{}, journeyErr(err)
	}
	return v, nil
}

// Pause implements Journeys.
func (a JourneysAdapter) Pause(ctx context.Context, name, actor string) error {
	return journeyErr(a.Runner.PauseAs(ctx, name, actor))
}

// Resume implements Journeys.
func (a JourneysAdapter) Resume(ctx context.Context, name, actor string) error {
	return journeyErr(a.Runner.ResumeAs(ctx, name, actor))
}

// Stats implements Journeys.
func (a JourneysAdapter) Stats(ctx context.Context, name string) (journeys.Stats, error) {
	st, err := a.Runner.Stats(ctx, name)
	if err != nil {
		return journeys.Stats{}, journeyErr(err)
	}
	return st, nil
}

// Failures implements Journeys.
func (a JourneysAdapter) Failures(ctx context.Context, name string) (FailureList, error) {
	if _, err := a.Runner.Get(ctx, name); err != nil {
		return FailureList{}, journeyErr(err)
	}
	fs, err := a.Runner.Failures(ctx, name, time.Time{}, 200)
	if err != nil {
		return FailureList{}, err
	}
	return FailureList{Journey: name, ByReason: journeys.CountByReason(fs), Failures: nonNil(fs)}, nil
}

// List implements Journeys.
func (a JourneysAdapter) List(ctx context.Context) (JourneyList, error) {
	l, err := a.Runner.List(ctx)
	if err != nil {
		return JourneyList{}, err
	}
	return JourneyList{Journeys: nonNil(l)}, nil
}

// Trigger implements Journeys.
func (a JourneysAdapter) Trigger(ctx context.Context, name string, entries []TriggerEntry) (TriggerResult, error) {
	in := make([]journeys.APIEntry, len(entries))
	for i, e := range entries {
		in[i] = journeys.APIEntry{ProfileID: e.ProfileID, Payload: e.Payload, Ref: e.Ref}
	}
	n, err := a.Runner.Trigger(ctx, name, in)
	if err != nil {
		return TriggerResult{}, journeyErr(err)
	}
	return TriggerResult{Journey: name, Entered: n}, nil
}

// ObserveTick records a scheduler tick's counts (journeys.SchedulerConfig's
// OnTick).
func (m *Metrics) ObserveTick(res journeys.TickResult, err error) {
	m.ObserveSend("all", "delivered", res.Sent)
	m.ObserveSend("all", "failed", res.Failed)
	for reason, n := range res.FailedBy {
		m.sendFailures.WithLabelValues(reason).Add(float64(n))
	}
	m.ObserveSend("all", "retried", res.Retried)
	m.ObserveSend("all", "resent", res.Resent) // in flight when a process died
	m.ObserveSkip("all", "skipped", res.Skipped)
	m.ObserveSkip("all", "held", res.Held)
	m.ObserveStep("all", "entered", res.Entered)
	m.ObserveStep("all", "moved", res.Moved)
	m.ObserveStep("all", "converted", res.Converted)
	m.ObserveStep("all", "exited", res.Exited)
	if err != nil || len(res.Errors) > 0 {
		m.schedulerTicks.WithLabelValues("error").Inc()
	} else {
		m.schedulerTicks.WithLabelValues("ok").Inc()
	}
}

// ProfilesChanged implements ProfileWatcher: segment-entry journeys
// re-check people whose data just arrived.
func (a JourneysAdapter) ProfilesChanged(ctx context.Context, ids []int64) error {
	_, err := a.Runner.ProfilesChanged(ctx, ids)
	return err
}

// journeyCollector exports per-journey, per-step counts from the journey
// tables at scrape time: people per step, sends, skips and holds by reason.
type journeyCollector struct {
	r                                 *journeys.Runner
	steps, skips, held, waiting, sent *prometheus.Desc
}

func newJourneyCollector(r *journeys.Runner) *journeyCollector {
	return &journeyCollector{r: r,
		steps:   prometheus.NewDesc("tact_journey_step_people_total", "People through a journey step, by outcome.", []string{"journey", "step", "outcome"}, nil),
		sent:    prometheus.NewDesc("tact_journey_sends_total", "Sends by journey step and result.", []string{"journey", "step", "result"}, nil),
		skips:   prometheus.NewDesc("tact_journey_skips_total", "Skipped sends by journey step and reason.", []string{"journey", "step", "reason"}, nil),
		held:    prometheus.NewDesc("tact_journey_holds_total", "Held sends by journey step and reason.", []string{"journey", "step", "reason"}, nil),
		waiting: prometheus.NewDesc("tact_journey_step_waiting", "People at a journey step now.", []string{"journey", "step"}, nil),
	}
}

func (c *journeyCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.steps, c.sent, c.skips, c.held, c.waiting} {
		ch <- d
	}
}

func (c *journeyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	list, err := c.r.List(ctx)
	if err != nil {
		return
	}
	cv := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, j := range list {
		st, err := c.r.Stats(ctx, j.Name)
		if err != nil {
			continue
		}
		for _, s := range st.Steps {
			cv(c.steps, s.Entered, j.Name, s.Step, "entered")
			cv(c.steps, s.Converted, j.Name, s.Step, "converted")
			cv(c.steps, s.Exited, j.Name, s.Step, "exited")
			cv(c.steps, s.Completed, j.Name, s.Step, "completed")
			cv(c.sent, s.Sent, j.Name, s.Step, "sent")
			cv(c.sent, s.Failed, j.Name, s.Step, "failed")
			for reason, n := range s.Skipped {
				cv(c.skips, n, j.Name, s.Step, reason)
			}
			for reason, n := range s.Held {
				cv(c.held, n, j.Name, s.Step, reason)
			}
			ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(s.Waiting), j.Name, s.Step)
		}
	}
}

// RegisterJourneyMetrics exports r's per-step counts on the server's
// /metrics.
func (s *Server) RegisterJourneyMetrics(r *journeys.Runner) error {
	return s.metrics.reg.Register(newJourneyCollector(r))
}
