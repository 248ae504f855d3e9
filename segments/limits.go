package segments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Default size bounds of an expression (Limits' zero fields).
const (
	// MaxSourceLen is the default bound on an expression's source text, in
	// bytes. Real segment and journey expressions are a few hundred bytes.
	MaxSourceLen = 4 << 10
	// MaxNodes is the default bound on an expression's size in AST nodes
	// (expr.MaxNodes): about 120 comparisons joined by and/or.
	MaxNodes = 500
	// DefaultTimeout is the evaluation time limit suggested for requests
	// from the network (the HTTP server); Compile applies none unless
	// Limits.Timeout says so.
	DefaultTimeout = 30 * time.Second
)

// Limits bound what one expression may cost. A zero size field means its
// default (MaxSourceLen, MaxNodes); a zero Timeout means no limit beyond the
// caller's context.
type Limits struct {
	// MaxSourceLen bounds the source text, in bytes.
	MaxSourceLen int
	// MaxNodes bounds the checked tree, in AST nodes.
	MaxNodes int
	// Timeout bounds each evaluation of the compiled segment (MemberIDs,
	// VMMemberIDs, Match, MatchSubjects, EachSnapshot): the SQL path's
	// DuckDB query is interrupted and the VM path stops between profiles,
	// with a *TimeLimitError.
	Timeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxSourceLen <= 0 {
		l.MaxSourceLen = MaxSourceLen
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = MaxNodes
	}
	return l
}

// Context returns ctx bounded by l.Timeout (ctx itself when there is none).
// Callers that run a segment's SQL through other paths (audiences) use it
// with TimeLimitErr to get the same bound and error.
func (l Limits) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, l.Timeout)
}

// Compile-time refusals; a *Error wraps one of them (errors.Is).
var (
	// ErrTooLarge: the expression exceeds Limits.MaxSourceLen or
	// Limits.MaxNodes.
	ErrTooLarge = errors.New("expression too large")
	// ErrUnbounded: the expression uses a construct whose cost does not
	// depend on the data (a range such as 1..1000000).
	ErrUnbounded = errors.New("construct without a size bound")
	// ErrTimeLimit: an evaluation ran past its time limit (a
	// *TimeLimitError is errors.Is ErrTimeLimit).
	ErrTimeLimit = errors.New("expression evaluation exceeded its time limit")
)

// TimeLimitError reports an evaluation stopped by its deadline. It is
// errors.Is ErrTimeLimit and context.DeadlineExceeded.
type TimeLimitError struct {
	// Limit is the segment's Limits.Timeout, 0 when the deadline came from
	// the caller's context.
	Limit time.Duration
	// Path is the evaluation path that was interrupted.
	Path Path
}

func (e *TimeLimitError) Error() string {
	if e.Limit > 0 {
		return fmt.Sprintf("expression evaluation (%s path) stopped at its time limit of %s", e.Path, e.Limit)
	}
	return fmt.Sprintf("expression evaluation (%s path) stopped at its deadline", e.Path)
}

// Is matches ErrTimeLimit.
func (e *TimeLimitError) Is(target error) bool { return target == ErrTimeLimit }

// Unwrap is context.DeadlineExceeded.
func (e *TimeLimitError) Unwrap() error { return context.DeadlineExceeded }

// TimeLimitErr turns err into a *TimeLimitError when ctx's deadline has
// passed (DuckDB reports an interrupted query with its own error); other
// errors pass through.
func TimeLimitErr(ctx context.Context, l Limits, path Path, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &TimeLimitError{Limit: l.Timeout, Path: path}
	}
	return err
}

// Option configures Compile.
type Option func(*options)

type options struct {
	limits        Limits
	journey       bool
	event         bool
	unknownTraits bool
	refuseTypos   bool
}

// WithLimits sets the size and time bounds of the compiled segment.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// ForJourney compiles a journey condition (entry segment or audience,
// branch, exit, goal, condition wait): besides the profile, `payload` (the
// instance's entry payload, a JSON object read nil-safely like a trait:
// `payload.order_id`, `payload["x"]`) and `entered_at` (when the instance
// entered) are known. They hold per journey instance, so conjuncts that use
// them run on the VM for each subject (MatchSubjects); the rest of the
// language, two-valued nil semantics included, is unchanged. A trait of the
// same name is shadowed.
func ForJourney() Option { return func(o *options) { o.journey = true } }

// ForEventEntry is ForJourney for an event entry's filter, which also sees
// the triggering event: `event` (its name), `timestamp` and `properties`
// (read like payload). Subject.Event carries it.
func ForEventEntry() Option { return func(o *options) { o.journey, o.event = true, true } }

// AllowUnknownTraits reads a name the schema does not know as a trait that
// no profile has yet (nil for everyone, so `vip == true` is false and
// `vip != true` true), instead of refusing it. Journeys use it: a journey
// may be published before the data it waits for is imported. Journey
// names (payload, entered_at) stay refused outside journey conditions.
func AllowUnknownTraits() Option { return func(o *options) { o.unknownTraits = true } }

// RefuseLikelyTypos makes AllowUnknownTraits still refuse an unknown
// name close to a known one (`countyr`: did you mean `country`?): a name
// that looks like a typo is one, any other is a trait not imported yet.
func RefuseLikelyTypos() Option { return func(o *options) { o.refuseTypos = true } }

// Limits returns the segment's bounds (defaults filled in).
func (s *Segment) Limits() Limits { return s.limits }

// bounded runs fn under the segment's time limit and types a deadline.
func (s *Segment) bounded(ctx context.Context, fn func(ctx context.Context) error) error {
	bctx, cancel := s.limits.Context(ctx)
	defer cancel()
	return TimeLimitErr(bctx, s.limits, s.path, fn(bctx))
}
