package journeys

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments/segtest"
)

// TestExprGoldenAsJourneyConditions runs every case of
// testdata/segments/*.txt through the journey path: as an entry
// expression (Members), as a condition (Match, as branch, exit, goal and
// condition waits call it) and as a condition that also reads the journey
// instance (so it runs on the VM per subject); each must select exactly
// the golden members. Error cases must be refused when an entry
// expression is checked (publish), with the golden message. Audience cases (consent applied) are the send
// step's business and are skipped.
func TestExprGoldenAsJourneyConditions(t *testing.T) {
	t.Parallel()
	require.Positive(t, segtest.RunFiles(t, "../testdata/segments", runGoldenAsJourney))
}

func runGoldenAsJourney(t *testing.T, g *segtest.File) {
	ctx := context.Background()
	st := g.Load(t)
	ev := NewSegmentsEvaluator(st)
	all := segtest.AllIDs(t, st)
	subjects := make([]Subject, len(all))
	for i, id := range all {
		subjects[i] = Subject{ProfileID: id, EnteredAt: g.Now, Payload: map[string]any{"k": "v"}}
	}
	ran := 0
	for _, c := range g.Cases {
		if c.Audience[0] != "" {
			continue
		}
		ran++
		if c.Err != "" {
			err := ev.(EntryChecker).CheckEntry(c.Expr)
			require.Error(t, err, "line %d", c.Line)
			require.Contains(t, err.Error(), c.Err, "line %d", c.Line)
			continue
		}
		members, err := ev.Members(ctx, c.Expr, g.Now)
		require.NoError(t, err, "line %d", c.Line)
		require.Equal(t, c.Want, segtest.UserIDs(t, st, members), "line %d: entry %q", c.Line, c.Expr)
		for _, src := range []string{c.Expr, "entered_at != nil and payload.k == \"v\" and (" + c.Expr + "\n)"} {
			require.NoError(t, ev.Check(src), "line %d", c.Line)
			m, err := ev.Match(ctx, src, subjects, g.Now)
			require.NoError(t, err, "line %d", c.Line)
			var got []int64
			for i, ok := range m {
				if ok {
					got = append(got, all[i])
				}
			}
			require.Equal(t, c.Want, segtest.UserIDs(t, st, got), "line %d: condition %q", c.Line, src)
		}
	}
	require.Positive(t, ran)
}
