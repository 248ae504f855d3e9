package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"time"

	"github.com/tactcdp/tact/segments/bench"
)

// SegmentOptions are the segment leg's settings (segments/bench's).
type SegmentOptions struct {
	EventsPerProfile int
	Repeat           int
	Now              time.Time // zero: segments/bench's default
}

// segTask carries SegmentOptions to the child.
type segTask struct {
	EventsPerProfile int       `json:"events_per_profile,omitempty"`
	Repeat           int       `json:"repeat,omitempty"`
	Now              time.Time `json:"now,omitzero"`
}

// segmentLeg wraps segments/bench: the segment (and the consent-filtered
// audience) through Tact's SQL path against a hand-written query, on one
// generated data set in one child process.
func (r *runner) segmentLeg(ctx context.Context) (Leg, error) {
	leg := Leg{Leg: LegSegment}
	db := r.scratch("segment", "bench.duckdb") // the name segments/bench uses
	defer removeDB(db)
	stop := r.p.watch(label("segment", "generating and timing"), "", nil, nil)
	out, err := r.l.run(ctx, task{Name: taskSegment, Dir: filepath.Dir(db), Rows: int64(r.o.Profiles),
		Segment: segTask(r.o.Segment)})
	stop()
	if err != nil {
		return leg, err
	}
	for _, name := range []string{"segment", "audience"} {
		c := newCase(name, out.Sides[name+"/tact"], out.Sides[name+"/reference"])
		c.SharedProcess = true
		leg.Cases = append(leg.Cases, c)
	}
	leg.Detail = out.Detail
	return leg, nil
}

// segmentChild runs segments/bench and turns its timings into sides: rate
// is profiles evaluated per second.
func segmentChild(ctx context.Context, t task) (childOutput, error) {
	res, err := bench.Run(ctx, bench.Options{Profiles: int(t.Rows), Dir: t.Dir,
		EventsPerProfile: t.Segment.EventsPerProfile, Repeat: t.Segment.Repeat, Now: t.Segment.Now})
	if err != nil {
		return childOutput{}, err
	}
	if !res.Agree {
		return childOutput{}, errors.New("segment leg: the SQL path, the VM path and the hand-written queries disagree on the members")
	}
	detail, err := json.Marshal(res)
	if err != nil {
		return childOutput{}, err
	}
	side := func(what string, ms float64) Side {
		return newSide(what, UnitProfiles, int64(res.Profiles), ms/1000)
	}
	return childOutput{Detail: detail, Sides: map[string]Side{
		"segment/tact":       side("tact segment SQL path (member ids)", res.Segment.SQL.Millis),
		"segment/reference":  side("hand-written DuckDB query (member ids)", res.Segment.Hand.Millis),
		"audience/tact":      side("tact audience SQL path (consent-filtered count)", res.Audience.SQL.Millis),
		"audience/reference": side("hand-written DuckDB query with the consent rule (count)", res.Audience.Hand.Millis),
	}}, nil
}
