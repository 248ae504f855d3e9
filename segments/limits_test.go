package segments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

// TestSizeBounds: an expression beyond the source or node bound is refused
// at compile time with a positioned *Error that is errors.Is ErrTooLarge
// (600 chained `email +` terms, 4.8 KB, used to compile and run).
func TestSizeBounds(t *testing.T) {
	t.Parallel()
	chain := strings.Repeat("email + ", 600) + `email == "x"`
	for _, c := range []struct {
		name string
		src  string
		lim  segments.Limits
		msg  string
	}{
		{"600 chained terms", chain, segments.Limits{}, "more than the limit of 4096"},
		{"node bound", strings.Repeat("email + ", 300) + `email == "x"`, segments.Limits{}, "nodes, more than the limit of 500"},
		{"custom source bound", `country == "TH"`, segments.Limits{MaxSourceLen: 10}, "15 bytes long"},
		{"custom node bound", `country == "TH" and age > 1`, segments.Limits{MaxNodes: 4}, "7 nodes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, err := range []error{
				compileErr(c.src, segments.WithLimits(c.lim)),
				compileErr(c.src, segments.WithLimits(c.lim), segments.ForJourney()),
				segments.CheckSyntax(c.src, segments.WithLimits(c.lim)),
			} {
				var ce *segments.Error
				require.ErrorAs(t, err, &ce)
				require.ErrorIs(t, err, segments.ErrTooLarge)
				require.Contains(t, ce.Msg, c.msg)
				require.Positive(t, ce.Line)
				require.Positive(t, ce.Column)
			}
		})
	}
	_, err := segments.Compile(`country == "TH"`, schema(), segments.WithLimits(segments.Limits{MaxSourceLen: 15, MaxNodes: 3}))
	require.NoError(t, err, "exactly at the bounds")
}

// TestRangesAreRefused: `len(1..1000000) > 0` counted 0 people without an
// error; a range is refused at compile time, naming its position.
func TestRangesAreRefused(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`len(1..1000000) > 0`, `age in 1..1000000000`, `any(1..3, # == age)`} {
		for _, err := range []error{compileErr(src), compileErr(src, segments.ForJourney()), segments.CheckSyntax(src)} {
			var ce *segments.Error
			require.ErrorAs(t, err, &ce, src)
			require.ErrorIs(t, err, segments.ErrUnbounded, src)
			require.NotErrorIs(t, err, segments.ErrTooLarge, src)
			require.Contains(t, ce.Msg, "ranges (a..b) are not supported", src)
		}
	}
	var ce *segments.Error
	require.ErrorAs(t, compileErr(`len(1..1000000) > 0`), &ce)
	require.Equal(t, [2]int{1, 6}, [2]int{ce.Line, ce.Column}, "the position of `..`")
}

// TestTimeLimit: an evaluation past its deadline stops with a
// *TimeLimitError on every path (SQL, hybrid, VM, per person, per journey
// subject), from the segment's Limits.Timeout or the caller's deadline.
func TestTimeLimit(t *testing.T) {
	t.Parallel()
	f := agreementFixture(t)
	ctx := context.Background()
	for _, src := range []string{
		`country == "TH"`,                        // sql
		`country == "TH" and string(age) == "3"`, // hybrid
		`string(age) == "3"`,                     // vm
	} {
		limited, err := segments.Compile(src, f.sc, segments.WithLimits(segments.Limits{Timeout: time.Nanosecond}), segments.ForJourney())
		require.NoError(t, err)
		unlimited, err := segments.Compile(src, f.sc, segments.ForJourney())
		require.NoError(t, err)
		expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		subs := []segments.Subject{{ProfileID: f.all[0].ID}, {ProfileID: f.all[1].ID}}
		for name, run := range map[string]func(*segments.Segment, context.Context) error{
			"MemberIDs":   func(s *segments.Segment, c context.Context) error { _, err := s.MemberIDs(c, f.st); return err },
			"VMMemberIDs": func(s *segments.Segment, c context.Context) error { _, err := s.VMMemberIDs(c, f.st); return err },
			"Match": func(s *segments.Segment, c context.Context) error {
				_, err := s.Match(c, f.st, f.all[0].ID)
				return err
			},
			"MatchSubjects": func(s *segments.Segment, c context.Context) error {
				_, err := s.MatchSubjects(c, f.st, subs, refNow)
				return err
			},
		} {
			for _, err := range []error{run(limited, ctx), run(unlimited, expired)} {
				var tl *segments.TimeLimitError
				require.ErrorAs(t, err, &tl, "%s %s", name, src)
				require.ErrorIs(t, err, segments.ErrTimeLimit)
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
			require.NoError(t, run(unlimited, ctx), "%s %s", name, src)
		}
		var tl *segments.TimeLimitError
		require.ErrorAs(t, func() error { _, err := limited.MemberIDs(ctx, f.st); return err }(), &tl)
		require.Equal(t, time.Nanosecond, tl.Limit)
		require.Equal(t, limited.Path(), tl.Path)
	}
	// Other errors pass through TimeLimitErr untouched.
	boom := errors.New("boom")
	require.Same(t, boom, segments.TimeLimitErr(ctx, segments.Limits{}, segments.PathSQL, boom))
}

func compileErr(src string, opts ...segments.Option) error {
	_, err := segments.Compile(src, schema(), opts...)
	return err
}

// schema is a small schema for compile-only tests.
func schema() segments.Schema {
	return segments.Schema{Traits: []engine.Trait{{Name: "country", Type: engine.TypeString}, {Name: "age", Type: engine.TypeInt}}}
}

func engineTrait(name string) engine.Trait { return engine.Trait{Name: name, Type: engine.TypeString} }

func requirePositioned(t *testing.T, src string, err error) {
	var ce *segments.Error
	require.ErrorAs(t, err, &ce)
	require.NotContains(t, ce.Msg, "cannot compile expression", "compiler panicked on %q", src)
	require.Positive(t, ce.Line)
	require.Positive(t, ce.Column)
}

// requireBounded: an accepted expression is within the default bounds and
// has no range.
func requireBounded(t *testing.T, src string) {
	require.LessOrEqual(t, len(src), segments.MaxSourceLen)
	tree, err := parser.Parse(src)
	require.NoError(t, err)
	n, ranges := 0, 0
	ast.Find(tree.Node, func(node ast.Node) bool {
		n++
		if b, ok := node.(*ast.BinaryNode); ok && b.Operator == ".." {
			ranges++
		}
		return false
	})
	require.LessOrEqual(t, n, segments.MaxNodes, "%q", src)
	require.Zero(t, ranges, "%q", src)
}

// agreeJourney: a journey condition evaluated per subject (empty payload)
// selects what the VM selects over every profile.
func (f *agreeFixture) agreeJourney(t testing.TB, seg *segments.Segment) {
	ctx := context.Background()
	subs := make([]segments.Subject, len(f.all))
	for i, s := range f.all {
		subs[i] = segments.Subject{ProfileID: s.ID, EnteredAt: refNow}
	}
	got, err := seg.MatchSubjects(ctx, f.st, subs, refNow)
	require.NoError(t, err, "%s", seg.Source())
	ev := seg.NewEvaluator(segments.Env{Now: refNow, Policy: f.st.Policy()})
	for i, s := range f.all {
		want, _ := ev.EvalSubject(s, &subs[i])
		require.Equal(t, want, got[i], "journey %q profile %d (path %s)\nSQL: %s", seg.Source(), s.ID, seg.Path(), seg.SQL())
	}
}

// TestTimeLimitInterruptsDuckDB: a long SQL evaluation is interrupted when
// the time limit passes, not run to its end.
func TestTimeLimitInterruptsDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large events table")
	}
	t.Parallel()
	g := &segtest.File{Name: "slow", Now: refNow, Profiles: []map[string]any{{"user_id": "a"}}}
	st := g.Load(t)
	ctx := context.Background()
	_, err := st.DB().ExecContext(ctx, `INSERT INTO events (profile_id, event, ts, properties, message_id, received_at, source) SELECT (SELECT min(id) FROM profiles), 'e' || (i % 97), TIMESTAMP '2026-01-01' + to_seconds(i),
		json_object('amount', i % 1000, 'k', md5(i::VARCHAR)), 'm' || i, TIMESTAMP '2026-01-01', 'test' FROM range(300000) t(i)`)
	require.NoError(t, err)
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	src := `count(events, .properties.k contains "abc" and .properties.amount > 5) > 0 and sum(events, .properties.amount) > 0`
	seg, err := segments.Compile(src, sc, segments.WithLimits(segments.Limits{Timeout: 30 * time.Millisecond}))
	require.NoError(t, err)
	require.Equal(t, segments.PathSQL, seg.Path(), "%v", seg.Reasons())
	start := time.Now()
	_, err = seg.MemberIDs(ctx, st)
	stopped := time.Since(start)
	var tl *segments.TimeLimitError
	require.ErrorAs(t, err, &tl)
	full, err := segments.Compile(src, sc)
	require.NoError(t, err)
	start = time.Now()
	ids, err := full.MemberIDs(ctx, st)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	ran := time.Since(start)
	t.Logf("interrupted after %s; the whole query takes %s", stopped, ran)
	require.Less(t, stopped, ran, "the query stopped before its end")
}
