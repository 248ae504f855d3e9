package journeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSegmentsEvaluator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.crowd(30, "UTC") // ltv = 10·i
	ev := NewSegmentsEvaluator(e.store)
	r, err := New(e.store, Config{Channels: e.r.cfg.Channels, Evaluator: ev})
	require.NoError(t, err)
	e.r = r
	require.Error(t, ev.Check(`ltv >`))
	require.NoError(t, ev.Check(`ltv >= 100 and entered_at < now()`))
	e.publish(`
name: seg
purpose: marketing
entry:
  segment: 'ltv >= 200'
steps:
  - id: who
    branch:
      - {if: 'ltv >= 250', goto: big}
      - {else: small}
  - id: big
    send: {channel: email, template: big}
    next: end
  - id: small
    send: {channel: email, template: small}
`)
	e.run()
	require.Equal(t, ids[25:], e.chans["email"].to("big"))
	require.Equal(t, ids[20:25], e.chans["email"].to("small"))
	m, err := ev.Match(e.ctx, `ltv >= 100`, subjectsOf([]dueRow{{ProfileID: ids[5]}, {ProfileID: ids[15]}}), e.clk.Now())
	require.NoError(t, err)
	require.Equal(t, []bool{false, true}, m)
	_ = time.Second
}
