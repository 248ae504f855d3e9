package journeys

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
)

// Subject is one person an expression is evaluated for, with the journey
// context expressions may use besides the profile (entered_at, payload).
type Subject struct {
	ProfileID int64
	EnteredAt time.Time
	Payload   map[string]any
	// Event is the triggering event, for an event entry's filter only.
	Event *segments.Event
}

// Evaluator evaluates the expressions of docs/expressions.md for journeys. The one
// implementation is NewSegmentsEvaluator: package segments, from the same
// checked AST as segments, so a condition means in a journey exactly what
// it means in a segment. The seam remains for Config.Evaluator (a store
// with its own limits, or a test double).
type Evaluator interface {
	// Check compiles a journey condition (exit, goal, branch, condition
	// wait: payload and entered_at are known) and reports why it does not
	// compile.
	Check(src string) error
	// Members lists every profile for which an entry expression (segment,
	// audience) is true at `at`.
	Members(ctx context.Context, src string, at time.Time) ([]int64, error)
	// Match evaluates a journey condition for each subject at `at`; out[i]
	// is subjects[i]'s result. A runtime error is false (docs/expressions.md's
	// two-valued semantics).
	Match(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error)
	// MatchEvents evaluates an event entry's filter for each subject, whose
	// Event is the triggering event (event, timestamp, properties).
	MatchEvents(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error)
}

// EntryChecker is implemented by evaluators that check entry expressions
// (segment, audience: no instance exists yet, so payload and entered_at
// are unknown) and event-entry filters differently from conditions.
type EntryChecker interface {
	CheckEntry(src string) error
	CheckEventFilter(src string) error
}

// segmentsEvaluator evaluates with package segments at the runner's
// instant: one query for entries and for conditions that compile to SQL,
// the VM per journey instance for the rest.
type segmentsEvaluator struct {
	store  *engine.Store
	limits segments.Limits
}

// NewSegmentsEvaluator returns the production evaluator over store, with
// package segments' default size bounds. A journey may be published before
// the data it reads is imported, so a name the store does not know yet is
// a trait nobody has (segments.AllowUnknownTraits); entry expressions
// still refuse a name that looks like a typo of a known one
// (segments.RefuseLikelyTypos: `countyr`, did you mean `country`?).
func NewSegmentsEvaluator(store *engine.Store) Evaluator { return &segmentsEvaluator{store: store} }

func (e *segmentsEvaluator) compile(ctx context.Context, src string, opts ...segments.Option) (*segments.Segment, error) {
	schema, err := segments.SchemaFromStore(ctx, e.store)
	if err != nil {
		return nil, err
	}
	return segments.Compile(src, schema, append(opts, segments.WithLimits(e.limits))...)
}

func (e *segmentsEvaluator) Check(src string) error {
	_, err := e.compile(context.Background(), src, segments.ForJourney(), segments.AllowUnknownTraits())
	return err
}

// CheckEntry implements EntryChecker.
func (e *segmentsEvaluator) CheckEntry(src string) error {
	_, err := e.compile(context.Background(), src, segments.AllowUnknownTraits(), segments.RefuseLikelyTypos())
	return err
}

// CheckEventFilter implements EntryChecker.
func (e *segmentsEvaluator) CheckEventFilter(src string) error {
	_, err := e.compile(context.Background(), src, segments.ForEventEntry(), segments.AllowUnknownTraits())
	return err
}

func (e *segmentsEvaluator) Members(ctx context.Context, src string, at time.Time) ([]int64, error) {
	seg, err := e.compile(ctx, src, segments.AllowUnknownTraits())
	if err != nil {
		return nil, err
	}
	return seg.MemberIDsAt(ctx, e.store, at)
}

func (e *segmentsEvaluator) Match(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error) {
	return e.match(ctx, src, subjects, at, segments.ForJourney(), segments.AllowUnknownTraits())
}

func (e *segmentsEvaluator) MatchEvents(ctx context.Context, src string, subjects []Subject, at time.Time) ([]bool, error) {
	return e.match(ctx, src, subjects, at, segments.ForEventEntry(), segments.AllowUnknownTraits())
}

func (e *segmentsEvaluator) match(ctx context.Context, src string, subjects []Subject, at time.Time, mode ...segments.Option) ([]bool, error) {
	if len(subjects) == 0 {
		return []bool{}, nil
	}
	seg, err := e.compile(ctx, src, mode...)
	if err != nil {
		return nil, err
	}
	subs := make([]segments.Subject, len(subjects))
	for i, s := range subjects {
		subs[i] = segments.Subject{ProfileID: s.ProfileID, EnteredAt: s.EnteredAt, Payload: s.Payload, Event: s.Event}
	}
	return seg.MatchSubjects(ctx, e.store, subs, at)
}

// syntaxChecker checks expressions without a store (names and types
// unchecked): re-reading published versions, and Parse's default.
type syntaxChecker struct{}

func (syntaxChecker) Check(src string) error { return segments.CheckSyntax(src) }

// CheckEntry implements EntryChecker.
func (syntaxChecker) CheckEntry(src string) error { return segments.CheckSyntax(src) }

// CheckEventFilter implements EntryChecker.
func (syntaxChecker) CheckEventFilter(src string) error { return segments.CheckSyntax(src) }

// plain converts driver values to what templates expect.
func plain(v any) any {
	switch x := v.(type) {
	case int32:
		return int(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return v
}

// intList renders integers for an IN list. Only Go-formatted integers are
// ever spliced into SQL this way.
func intList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	if len(ids) == 0 {
		b.WriteString("NULL")
	}
	return b.String()
}
