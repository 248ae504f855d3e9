package journeys

import (
	"context"
	"regexp"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
)

// segmentsEvaluator evaluates expressions with package segments: one SQL
// query for segment and schedule audiences and for large groups, the VM
// for a few people. Expressions that use the journey's own values
// (entered_at, payload) run on the built-in VM evaluator.
type segmentsEvaluator struct {
	store    *engine.Store
	fallback Evaluator
}

// NewSegmentsEvaluator returns the production evaluator: package segments,
// with the VM evaluator for journey-only names. Segments evaluate at the
// store's clock; give the runner the same clock (the default).
func NewSegmentsEvaluator(store *engine.Store) Evaluator {
	return &segmentsEvaluator{store: store, fallback: NewExprEvaluator(store)}
}

var journeyVarRE = regexp.MustCompile(`\b(entered_at|payload)\b`)

func (e *segmentsEvaluator) compile(ctx context.Context, src string) (*segments.Segment, error) {
	schema, err := segments.SchemaFromStore(ctx, e.store)
	if err != nil {
		return nil, err
	}
	return segments.Compile(src, schema)
}

func (e *segmentsEvaluator) Check(src string) error {
	if journeyVarRE.MatchString(src) {
		return e.fallback.Check(src)
	}
	_, err := e.compile(context.Background(), src)
	return err
}

func (e *segmentsEvaluator) Members(ctx context.Context, src string, at time.Time) ([]int64, error) {
	if journeyVarRE.MatchString(src) {
		return e.fallback.Members(ctx, src, at)
	}
	seg, err := e.compile(ctx, src)
	if err != nil {
		return nil, err
	}
	return seg.MemberIDs(ctx, e.store)
}

// matchSetSize: above this many people one set-based query beats
// per-person snapshots.
const matchSetSize = 200

func (e *segmentsEvaluator) Match(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error) {
	if journeyVarRE.MatchString(src) {
		return e.fallback.Match(ctx, src, subjects, at)
	}
	seg, err := e.compile(ctx, src)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(subjects))
	if len(subjects) > matchSetSize {
		ids, err := seg.MemberIDs(ctx, e.store)
		if err != nil {
			return nil, err
		}
		in := make(map[int64]bool, len(ids))
		for _, id := range ids {
			in[id] = true
		}
		for i, s := range subjects {
			out[i] = in[s.ProfileID]
		}
		return out, nil
	}
	for i, s := range subjects {
		ok, err := seg.Match(ctx, e.store, s.ProfileID)
		if err != nil {
			return nil, err
		}
		out[i] = ok
	}
	return out, nil
}
