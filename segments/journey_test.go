package segments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
	"github.com/tactcdp/tact/segments/segtest"
)

// TestJourneyConditions: compiled ForJourney, payload and entered_at hold
// per subject and are read nil-safely; everything else keeps its segment
// meaning (two-valued nil semantics, ago with compound durations,
// in_segment next to payload).
func TestJourneyConditions(t *testing.T) {
	t.Parallel()
	g := &segtest.File{Name: "journey", Now: refNow, Profiles: []map[string]any{
		{"user_id": "a", "country": "TH", "age": 40, "signup_at": "2026-10-20T00:00:00Z"},
		{"user_id": "b", "country": "US", "age": 20, "signup_at": "2026-10-30T00:00:00Z"},
		{"user_id": "c"},
	}, Saves: [][2]string{{"thai", `country == "TH"`}}}
	st := g.Load(t)
	ctx := context.Background()
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	ids := segtest.AllIDs(t, st)
	require.Len(t, ids, 3)
	entered := refNow.Add(-48 * time.Hour)
	subs := []segments.Subject{
		{ProfileID: ids[0], EnteredAt: entered, Payload: map[string]any{"order_id": "o-1", "total": 150.0, "items": []any{map[string]any{"sku": "x"}}}},
		{ProfileID: ids[1], EnteredAt: refNow, Payload: map[string]any{"order_id": "o-2", "total": 50.0, "x y": true}},
		{ProfileID: ids[2]}, // no payload, zero entered_at
		{ProfileID: ids[0], EnteredAt: refNow, Payload: map[string]any{"order_id": "o-3"}}, // a second instance of a
		{ProfileID: 999_999}, // no such profile
	}
	for _, c := range []struct {
		src  string
		want []bool
		path segments.Path
	}{
		{`payload.order_id == "o-1"`, []bool{true, false, false, false, false}, segments.PathVM},
		{`payload["order_id"] != "o-1"`, []bool{false, true, true, true, false}, segments.PathVM},
		{`payload.total > 100`, []bool{true, false, false, false, false}, segments.PathVM},
		{`not (payload.total > 100)`, []bool{false, true, true, true, false}, segments.PathVM},
		{`payload.missing.deeper == nil`, []bool{true, true, true, true, false}, segments.PathVM},
		{`payload.items[0].sku == "x"`, []bool{true, false, false, false, false}, segments.PathVM},
		{`payload["x y"] == true`, []bool{false, true, false, false, false}, segments.PathVM},
		{`(payload.order_id ?? "none") == "none"`, []bool{false, false, true, false, false}, segments.PathVM},
		{`entered_at < ago("1d")`, []bool{true, false, true, false, false}, segments.PathVM},
		{`country == "TH" and payload.order_id == "o-3"`, []bool{false, false, false, true, false}, segments.PathHybrid},
		{`in_segment("thai") and payload.order_id == "o-1"`, []bool{true, false, false, false, false}, segments.PathHybrid},
		{`not (age > 30)`, []bool{false, true, true, false, false}, segments.PathSQL},
		{`signup_at < ago("1w2d")`, []bool{true, false, false, true, false}, segments.PathSQL},
	} {
		seg, err := segments.Compile(c.src, sc, segments.ForJourney())
		require.NoError(t, err, c.src)
		require.Equal(t, c.path, seg.Path(), "%s: %v", c.src, seg.Reasons())
		got, err := seg.MatchSubjects(ctx, st, subs, refNow)
		require.NoError(t, err, c.src)
		require.Equal(t, c.want, got, c.src)
	}
	got, err := mustCompile(t, `true`, sc, segments.ForJourney()).MatchSubjects(ctx, st, nil, refNow)
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestJourneyNamesOutsideJourneys: in a plain segment payload and
// entered_at are unknown names, with a clear error; in a journey they
// shadow a trait of the same name.
func TestJourneyNamesOutsideJourneys(t *testing.T) {
	t.Parallel()
	sc := schema()
	for _, src := range []string{`payload.order_id == "x"`, `entered_at < now()`} {
		_, err := segments.Compile(src, sc)
		var ce *segments.Error
		require.ErrorAs(t, err, &ce, src)
		require.Contains(t, ce.Msg, "is known in journey conditions only", src)
		require.False(t, errors.Is(err, segments.ErrTooLarge))
		_, err = segments.Compile(src, sc, segments.AllowUnknownTraits())
		require.Error(t, err, "%s: journey names are never taken for unknown traits", src)
	}
	_, err := segments.Compile(`properties.cart_value > 500`, sc, segments.ForJourney())
	require.Error(t, err, "the event's names belong to event-entry filters")
	shadow := sc
	shadow.Traits = append(shadow.Traits, engineTrait("payload"))
	seg, err := segments.Compile(`payload.order_id == "x"`, shadow, segments.ForJourney())
	require.NoError(t, err)
	require.Equal(t, segments.PathVM, seg.Path())
}

// TestEventEntryFilter: an event entry's filter sees the triggering event
// (event, timestamp, properties) and the profile.
func TestEventEntryFilter(t *testing.T) {
	t.Parallel()
	g := &segtest.File{Name: "event", Now: refNow, Profiles: []map[string]any{{"user_id": "a", "country": "TH"}, {"user_id": "b"}}}
	st := g.Load(t)
	ctx := context.Background()
	sc, err := segments.SchemaFromStore(ctx, st)
	require.NoError(t, err)
	ids := segtest.AllIDs(t, st)
	ev := func(v float64) *segments.Event {
		return &segments.Event{Name: "added_to_cart", Timestamp: refNow.Add(-time.Hour), Properties: map[string]any{"cart_value": v}}
	}
	subs := []segments.Subject{{ProfileID: ids[0], Event: ev(600)}, {ProfileID: ids[0], Event: ev(100)}, {ProfileID: ids[1], Event: ev(900)}, {ProfileID: ids[1]}}
	for src, want := range map[string][]bool{
		`properties.cart_value > 500`:                        {true, false, true, false},
		`properties.cart_value > 500 and country == "TH"`:    {true, false, false, false},
		`event == "added_to_cart" and timestamp > ago("2h")`: {true, true, true, false},
		`not (properties.nope > 1)`:                          {true, true, true, true},
	} {
		seg, err := segments.Compile(src, sc, segments.ForEventEntry())
		require.NoError(t, err, src)
		got, err := seg.MatchSubjects(ctx, st, subs, refNow)
		require.NoError(t, err, src)
		require.Equal(t, want, got, src)
	}
}

// TestUnknownTraits: AllowUnknownTraits reads an unknown name as a trait
// nobody has; without it the name is refused with suggestions, and with
// RefuseLikelyTypos only a name close to a known one is.
func TestUnknownTraits(t *testing.T) {
	t.Parallel()
	f := agreementFixture(t)
	_, err := segments.Compile(`vipp == true`, f.sc)
	require.Error(t, err)
	for src, all := range map[string]bool{`vipp == true`: false, `vipp != true`: true, `not (vipp > 3)`: true, `vipp == nil`: true} {
		seg := mustCompile(t, src, f.sc, segments.AllowUnknownTraits())
		require.Equal(t, segments.PathVM, seg.Path(), src)
		ids, err := seg.MemberIDs(context.Background(), f.st)
		require.NoError(t, err)
		if all {
			require.Len(t, ids, len(f.all), src)
		} else {
			require.Empty(t, ids, src)
		}
	}
	_, err = segments.Compile(`nofunc(1)`, f.sc, segments.AllowUnknownTraits())
	require.Error(t, err, "unknown functions stay errors")
	// With RefuseLikelyTypos a name close to a known one is a typo.
	_, err = segments.Compile(`countryy == "TH" and plan == "pro"`, f.sc, segments.AllowUnknownTraits(), segments.RefuseLikelyTypos())
	var ce *segments.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{"country"}, ce.Suggestions)
	require.Equal(t, [2]int{1, 1}, [2]int{ce.Line, ce.Column})
	mustCompile(t, `plan == "pro"`, f.sc, segments.AllowUnknownTraits(), segments.RefuseLikelyTypos())
}

func mustCompile(t *testing.T, src string, sc segments.Schema, opts ...segments.Option) *segments.Segment {
	t.Helper()
	seg, err := segments.Compile(src, sc, opts...)
	require.NoError(t, err, src)
	return seg
}
