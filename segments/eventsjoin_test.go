package segments

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// TestEventsJoinShape pins the shape of the events join the compiler runs:
// like the hand-written query, one aggregate over the filtered events needs
// no FILTER, and a conjunct decided in HAVING is not checked again in the
// outer WHERE. Results are covered by the golden and agreement tests; this
// test pins the work done. The rendered SQL (`tact segment check`) is the
// query that runs.
func TestEventsJoinShape(t *testing.T) {
	t.Parallel()
	sc := Schema{Traits: []engine.Trait{{Name: "country", Type: engine.TypeString}, {Name: "age", Type: engine.TypeInt}}}
	const (
		purchase = `(e.event = CAST(? AS VARCHAR))`
		view     = `(e.event = CAST(? AS VARCHAR))`
		inWindow = `((e.event = CAST(? AS VARCHAR)) AND (e.ts > CAST(? AS TIMESTAMP)))`
	)
	tests := []struct {
		name, expr, want string
	}{
		{
			name: "the benchmarked segment: one filtered count, pushed down, decided in HAVING",
			expr: `country == "TH" and age >= 25 and count(events, .event == "purchase" and .timestamp > ago("30d")) >= 2`,
			want: `profiles p JOIN (SELECT e.profile_id, count(*) AS a0 FROM events e WHERE ` + inWindow +
				` GROUP BY e.profile_id HAVING (COALESCE(a0, 0) >= CAST(? AS BIGINT))) ev ON ev.profile_id = p.id` +
				` WHERE (p."country" = CAST(? AS VARCHAR)) AND (p."age" >= CAST(? AS BIGINT))`,
		},
		{
			name: "only an event conjunct: the outer WHERE is empty",
			expr: `count(events, .event == "purchase") >= 2`,
			want: `profiles p JOIN (SELECT e.profile_id, count(*) AS a0 FROM events e WHERE ` + purchase +
				` GROUP BY e.profile_id HAVING (COALESCE(a0, 0) >= CAST(? AS BIGINT))) ev ON ev.profile_id = p.id WHERE TRUE`,
		},
		{
			name: "the same filter twice: read once, no FILTER",
			expr: `any(events, .event == "view") and count(events, .event == "view") < 3`,
			want: `profiles p JOIN (SELECT e.profile_id, count(*) AS a0, count(*) AS a1 FROM events e WHERE ` + view +
				` GROUP BY e.profile_id HAVING (COALESCE(a0, 0) > 0)) ev ON ev.profile_id = p.id WHERE (COALESCE(ev.a1, 0) < CAST(? AS BIGINT))`,
		},
		{
			name: "different filters: each aggregate keeps its FILTER",
			expr: `count(events, .event == "purchase") >= 2 and none(events, .event == "view")`,
			want: `profiles p JOIN (SELECT e.profile_id, count(*) FILTER (WHERE ` + purchase + `) AS a0, count(*) FILTER (WHERE ` + view + `) AS a1` +
				` FROM events e WHERE ` + purchase + ` OR ` + view +
				` GROUP BY e.profile_id HAVING (COALESCE(a0, 0) >= CAST(? AS BIGINT))) ev ON ev.profile_id = p.id WHERE (COALESCE(ev.a1, 0) = 0)`,
		},
		{
			name: "every event and a filter: no pushdown, FILTER only where it filters",
			expr: `len(events) >= 3 and count(events, .event == "view") == 0`,
			want: `profiles p JOIN (SELECT e.profile_id, count(*) AS a0, count(*) FILTER (WHERE ` + view + `) AS a1` +
				` FROM events e GROUP BY e.profile_id HAVING (COALESCE(a0, 0) >= CAST(? AS BIGINT))) ev ON ev.profile_id = p.id` +
				` WHERE (COALESCE(ev.a1, 0) = CAST(? AS BIGINT))`,
		},
		{
			name: "a profile without events may match: LEFT JOIN, decided in WHERE",
			expr: `country == "TH" or count(events, .event == "purchase") < 2`,
			want: `profiles p LEFT JOIN (SELECT e.profile_id, count(*) AS a0 FROM events e WHERE ` + purchase +
				` GROUP BY e.profile_id) ev ON ev.profile_id = p.id WHERE ((p."country" = CAST(? AS VARCHAR)) OR (COALESCE(ev.a0, 0) < CAST(? AS BIGINT)))`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seg, err := Compile(tt.expr, sc)
			require.NoError(t, err)
			require.Equal(t, PathSQL, seg.Path(), seg.Reasons())
			from, args, err := seg.plan.from(context.Background(), nil, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Equal(t, tt.want, from)
			require.Len(t, args, strings.Count(from, "?"), "one argument per placeholder")
			require.Equal(t, "FROM "+from, seg.SQL(), "check shows the query that runs")
		})
	}
}
