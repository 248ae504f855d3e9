package journeys

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/segments"
)

// branchJourney is a journey whose branch sends the people for whom cond
// is true to exit step yes, the others to no.
func branchJourney(name, cond string) string {
	return fmt.Sprintf(`
name: %s
purpose: marketing
entry: api
steps:
  - id: route
    branch:
      - {if: '%s', goto: yes}
      - {else: no}
  - id: yes
    exit: {}
  - id: no
    exit: {}
`, name, cond)
}

// newExprEnv is a test env whose runner uses its default evaluator, or
// NewSegmentsEvaluator given explicitly (as tact does).
func newExprEnv(t *testing.T, explicit bool) *env {
	if !explicit {
		return newEnv(t)
	}
	e := newEnv(t)
	r, err := New(e.store, Config{Channels: e.r.cfg.Channels, Evaluator: NewSegmentsEvaluator(e.store)})
	require.NoError(t, err)
	e.r = r
	return e
}

// TestExprNegationIncludesMissing: `not (age > 30)` was false for everyone
// without an age in a journey branch (a runtime error on nil), true in a
// segment. Now the branch routes them like the segment does.
func TestExprNegationIncludesMissing(t *testing.T) {
	t.Parallel()
	for _, explicit := range []bool{false, true} {
		e := newExprEnv(t, explicit)
		ids := e.people(person{User: "old", Traits: map[string]any{"age": 40}}, person{User: "young", Traits: map[string]any{"age": 20}}, person{User: "ageless"})
		e.publish(branchJourney("neg", `not (age > 30)`))
		enterAll(t, e, "neg", ids)
		e.run()
		require.Equal(t, []int64{ids[1], ids[2]}, e.exitedAt("neg", "yes"), "explicit evaluator: %v", explicit)
		require.Equal(t, []int64{ids[0]}, e.exitedAt("neg", "no"))
	}
}

// TestExprAgoCompoundDuration: `ago("1w2d")` was false for everyone in a
// journey (journeys parsed durations their own way) and correct in a
// segment.
func TestExprAgoCompoundDuration(t *testing.T) {
	t.Parallel()
	for _, explicit := range []bool{false, true} {
		e := newExprEnv(t, explicit)
		ids := e.people(
			person{User: "ten", Traits: map[string]any{"signup_at": t0.Add(-10 * 24 * time.Hour).Format(time.RFC3339)}},
			person{User: "three", Traits: map[string]any{"signup_at": t0.Add(-3 * 24 * time.Hour).Format(time.RFC3339)}},
		)
		e.publish(branchJourney("ago", `signup_at < ago("1w2d")`))
		enterAll(t, e, "ago", ids)
		e.run()
		require.Equal(t, []int64{ids[0]}, e.exitedAt("ago", "yes"), "explicit evaluator: %v", explicit)
		require.Equal(t, []int64{ids[1]}, e.exitedAt("ago", "no"))
	}
}

// TestExprInSegmentWithPayload: in_segment(...) in a condition that
// mentions payload was always false (such conditions went to a VM without
// saved segments).
func TestExprInSegmentWithPayload(t *testing.T) {
	t.Parallel()
	for _, explicit := range []bool{false, true} {
		e := newExprEnv(t, explicit)
		ids := e.people(person{User: "th", Traits: map[string]any{"country": "TH"}}, person{User: "us", Traits: map[string]any{"country": "US"}}, person{User: "th2", Traits: map[string]any{"country": "TH"}})
		_, err := segments.Save(e.ctx, e.store, "thai", `country == "TH"`)
		require.NoError(t, err)
		e.publish(branchJourney("seg", `in_segment("thai") and payload.tier == "gold"`))
		_, err = e.r.Trigger(e.ctx, "seg", []APIEntry{
			{ProfileID: ids[0], Payload: map[string]any{"tier": "gold"}},
			{ProfileID: ids[1], Payload: map[string]any{"tier": "gold"}},
			{ProfileID: ids[2], Payload: map[string]any{"tier": "silver"}},
		})
		require.NoError(t, err)
		e.run()
		require.Equal(t, []int64{ids[0]}, e.exitedAt("seg", "yes"), "explicit evaluator: %v", explicit)
		require.Equal(t, []int64{ids[1], ids[2]}, e.exitedAt("seg", "no"))
	}
}

// TestExprPublishBeforeData: a journey may name traits that are not
// imported yet (they are missing for everyone until they are), while an
// entry expression that looks like a typo of a known trait is refused.
func TestExprPublishBeforeData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.people(person{User: "th", Traits: map[string]any{"country": "TH"}})
	e.publish(`
name: early
purpose: marketing
entry: {segment: 'tier == "gold"'}
exit: 'churned == true'
steps:
  - {id: a, exit: {}}
`)
	_, err := e.r.Publish(e.ctx, "typo.yaml", []byte("name: typo\npurpose: marketing\nentry: {segment: 'countyr == \"TH\"'}\nsteps:\n  - {id: a, exit: {}}\n"))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, ve.Problems[0].Msg, "did you mean `country`")
	members, err := e.r.eval.Members(e.ctx, `tier == "gold"`, e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, members)
	e.people(person{User: "th", Traits: map[string]any{"country": "TH", "tier": "gold"}})
	members, err = e.r.eval.Members(e.ctx, `tier == "gold"`, e.clk.Now())
	require.NoError(t, err)
	require.Equal(t, ids, members)
}
